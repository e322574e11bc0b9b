"""CTC-P TextRNN, back to back: Chinese-Text-Classification-Pytorch's own
`python run.py --model TextRNN --embedding random` against `rnnbench sweep --config
results/reference/ctc-p.yaml --models textrnn`, each under `/usr/bin/time -v` in its own
job under the shared CPU lock; prints one markdown table (wall, CPU, peak resident
memory, accuracy, training steps) with rnnbench / reference ratios.

    python benchmarks/ctcp_compare.py --reference DIR --reference-python PY
        --workdir DIR [--rnnbench EXE] [--config YAML] [--lock FILE] [--label NAME]

--reference: a copy of the reference repository (649453932/Chinese-Text-Classification-
Pytorch) whose THUCNews/data holds train/dev/test.txt and class.txt (its vocab.pkl, if
any, is what it reuses); --reference-python: an interpreter with torch, tensorboardX
and scikit-learn. --workdir: where rnnbench runs; it must hold THUCNews/data (the same
files, e.g. a link) and gets a fresh results folder and `datasets` cache (a cold start:
no prepared data reused). Logs of both sides are kept in --workdir.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from common import markdown

HERE = Path(__file__).resolve().parent


def timed(command: list[str], cwd: Path, log: Path, lock: str, env=None) -> dict[str, float]:
    """Run `command` under flock and /usr/bin/time -v; its wall, CPU and peak RSS."""
    with log.open("w") as out:
        done = subprocess.run(
            ["flock", lock, "/usr/bin/time", "-v", *command],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    text = log.read_text(errors="replace")
    if done.returncode:
        sys.exit(f"{command[0]} failed ({done.returncode}); see {log}")

    def field(name: str) -> str:
        return re.findall(rf"{re.escape(name)}: (\S+)", text)[-1]

    clock = [float(x) for x in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(v * 60**i for i, v in enumerate(reversed(clock)))
    return {
        "wall": wall,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "rss": float(field("Maximum resident set size (kbytes)")) / 1024,
        "text": text,
    }


def reference_side(args) -> dict:
    run = timed(
        [args.reference_python, "run.py", "--model", "TextRNN", "--embedding", "random"],
        args.reference,
        args.workdir / f"reference-{args.label}.log",
        args.lock,
    )
    text = run.pop("text")
    iters = [int(i) for i in re.findall(r"Iter:\s+(\d+),", text)]
    saved = [int(i) for i in re.findall(r"Iter:\s+(\d+),.*\*\s*$", text, re.M)]
    stopped = "auto-stopping" in text
    run.update(
        acc=float(re.findall(r"Test Acc:\s+([\d.]+)%", text)[-1]),
        # the dev accuracy of the weights it tests (its last validation that saved)
        best_val=float(re.findall(r"Val Acc:\s+([\d.]+)%.*\*\s*$", text, re.M)[-1]),
        # batches counted from 0; it stops when 1,000 have passed since its best
        steps=saved[-1] + 1001 if stopped else None,
        last_validation=iters[-1],
        stopped_early=stopped,
    )
    return run


def rnnbench_side(args) -> dict:
    results = args.workdir / f"results-{args.label}"
    cache = args.workdir / f"hf-cache-{args.label}"
    for folder in (results, cache):
        shutil.rmtree(folder, ignore_errors=True)
    import os

    env = {**os.environ, "HF_DATASETS_CACHE": str(cache)}
    run = timed(
        [args.rnnbench, "sweep", "--config", str(args.config), "--models", "textrnn"]
        + ["--results-dir", str(results)],
        args.workdir,
        args.workdir / f"rnnbench-{args.label}.log",
        args.lock,
        env,
    )
    run.pop("text")
    (result,) = [json.loads(p.read_text()) for p in results.glob("runs/*/result.json")]
    run.update(acc=100 * result["metrics"]["test_acc"], steps=result["steps"])
    run["val_acc"] = val_history(results, result["mlflow_run_id"])
    return run


def val_history(results: Path, run_id: str) -> list[tuple[int, float]]:
    """(step, val_acc %) of the run's validations, from the MLflow SQLite store."""
    (db,) = (
        results.glob("*.db") if not (results / "mlflow.db").exists() else [results / "mlflow.db"]
    )
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT step, value FROM metrics WHERE run_uuid = ? AND key = 'val_acc' ORDER BY step",
            (run_id,),
        ).fetchall()
    return [(int(s), 100 * v) for s, v in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--reference-python", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--rnnbench", default=shutil.which("rnnbench") or "rnnbench")
    parser.add_argument("--config", type=Path, default=HERE.parent / "results/reference/ctc-p.yaml")
    parser.add_argument("--lock", default="/tmp/rnnbench-cpu.lock")
    parser.add_argument("--label", default="run")
    parser.add_argument("--skip-reference", type=Path, help="a saved reference result (JSON)")
    args = parser.parse_args()
    args.config = args.config.resolve()
    if args.skip_reference:
        ref = json.loads(args.skip_reference.read_text())
    else:
        ref = reference_side(args)
        (args.workdir / f"reference-{args.label}.json").write_text(json.dumps(ref))
    ours = rnnbench_side(args)
    (args.workdir / f"rnnbench-{args.label}.json").write_text(json.dumps(ours))
    reached = next((s for s, v in ours["val_acc"] if v >= ref["best_val"]), None)
    rows = [
        [
            "wall clock, s",
            f"{ref['wall']:.0f}",
            f"{ours['wall']:.0f}",
            f"{ours['wall'] / ref['wall']:.2f}x",
        ],
        [
            "CPU (user + system), s",
            f"{ref['cpu']:.0f}",
            f"{ours['cpu']:.0f}",
            f"{ours['cpu'] / ref['cpu']:.2f}x",
        ],
        [
            "peak resident memory, MiB",
            f"{ref['rss']:.0f}",
            f"{ours['rss']:.0f}",
            f"{ours['rss'] / ref['rss']:.2f}x",
        ],
        ["test accuracy, %", f"{ref['acc']:.2f}", f"{ours['acc']:.2f}", ""],
        [
            "training steps",
            str(ref["steps"] or ref["last_validation"]),
            str(ours["steps"]),
            "",
        ],
        [
            "first validation at the reference's best dev accuracy",
            f"{ref['best_val']:.2f}%",
            str(reached),
            "",
        ],
    ]
    print(markdown(["", "reference", "rnnbench", "ratio"], rows))


if __name__ == "__main__":
    main()
