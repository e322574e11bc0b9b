"""A synthetic corpus in THUCNews' folder format (Chinese-Text-Classification-Pytorch:
data/train.txt, dev.txt, test.txt with `text<TAB>label id` lines, data/class.txt), of the
real set's size and headline length distribution, for timing the CTC-P reference
configuration without the real data (which is never committed).

    python benchmarks/thucnews_synthetic.py OUT_DIR [--train 180000] [--dev 10000]
        [--test 10000] [--seed 0]

Headlines: 10 classes; lengths 8-30 characters (mean about 19, as THUCNews' titles);
characters from a 4,800-character alphabet, each class drawing 40% of its characters
from 300 of its own, so that a model can learn the classes (accuracy well above 10%).
OUT_DIR/data/ is then the `dataset:` of results/reference/ctc-p.yaml.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

CLASSES = (
    "finance",
    "realty",
    "stocks",
    "education",
    "science",
    "society",
    "politics",
    "sports",
    "game",
    "entertainment",
)  # THUCNews' ten, in its order
ALPHABET = [chr(0x4E00 + i) for i in range(4800)]  # CJK unified ideographs


def headline(rng: random.Random, own: list[str]) -> str:
    length = min(30, max(8, int(rng.gauss(19, 4))))
    return "".join(
        rng.choice(own) if rng.random() < 0.4 else rng.choice(ALPHABET) for _ in range(length)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=180_000)
    parser.add_argument("--dev", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    own = [rng.sample(ALPHABET, 300) for _ in CLASSES]
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "class.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    for split, n in (("train", args.train), ("dev", args.dev), ("test", args.test)):
        lines = []
        for i in range(n):
            label = i % len(CLASSES)
            lines.append(f"{headline(rng, own[label])}\t{label}")
        rng.shuffle(lines)
        (data / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.train}/{args.dev}/{args.test} headlines to {data}")


if __name__ == "__main__":
    main()
