"""The character tokeniser's CJK test (cached per character) and the text
classification task's direct encoder, against the rules and the pipeline they replace."""

import unicodedata

import pytest
import torch
from conftest import write

from rnnbench.data import text
from rnnbench.data.text import Vocabulary, detect_level, encode_batch, is_cjk, tokenize


def by_name(char: str) -> bool:
    """The rule itself: the character's Unicode name starts with a CJK block's."""
    return unicodedata.name(char, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def test_is_cjk_agrees_with_the_unicode_names_over_the_basic_planes():
    chars = [chr(c) for c in range(0x30000) if not 0xD800 <= c < 0xE000]
    assert [is_cjk(c) for c in chars] == [by_name(c) for c in chars]
    assert [is_cjk(c) for c in chars[:0x3100]] == [by_name(c) for c in chars[:0x3100]]  # cached
    assert is_cjk("中") and is_cjk("ひ") and is_cjk("カ") and is_cjk("한") and not is_cjk("a")


def old_tokenize(t: str, level: str) -> list[str]:
    """The tokeniser before the cache (rnnbench 0.x), word for word."""
    if level == "char":
        letters = [c for c in t if not c.isspace()]
        unsegmented = bool(letters) and sum(map(by_name, letters)) / len(letters) > 0.3
        return letters if unsegmented else list(t)
    return t.split()


@pytest.mark.parametrize(
    "sample",
    [
        "这部电影 很好",
        "a b",
        "",
        "   ",
        "电影 is good",
        "カタカナ と ひらがな",
        "mixed 中文 text here",
    ],
)
def test_tokenize_is_unchanged(sample):
    for level in ("char", "word"):
        assert tokenize(sample, level) == old_tokenize(sample, level)


def test_detect_level():
    assert detect_level(["这部电影很好", "很好看"]) == "char"
    assert detect_level(["a good movie", "a bad one"]) == "word"
    assert text._CJK["电"] is True  # filled on first sight


def test_direct_encoding_equals_the_datasets_map_pipeline(tmp_path):
    """The task encodes texts in one pass (no token lists, no datasets.map): the same
    vocabulary and padded ids as tokenize_batch + Vocabulary.build + encode_batch."""
    from test_text_tasks import make

    rows = ["这部电影很好", "这部 电影很差", "很好看", "一般般的电影呢", "好"] * 3
    texts = [r + str(i % 4) for i, r in enumerate(rows)]
    folder = tmp_path / "zh"
    write(folder / "train.tsv", "".join(f"{t}\t{i % 2}\n" for i, t in enumerate(texts)))
    write(folder / "dev.tsv", "电影好\t1\n未见过\t0\n")
    write(folder / "test.tsv", "很差\t0\n")
    t = make("text-classification", dataset=folder, max_length=5, vocab_size=8, cache="false")
    tokens = [tokenize(x, "char") for x in texts]
    vocab = Vocabulary.build(tokens, 8)
    assert t.vocab.itos == vocab.itos
    ids = encode_batch({"tokens": tokens}, vocab.stoi, vocab.unk_id, 5)["ids"]
    width = max(map(len, ids))
    expected = torch.tensor([seq + [0] * (width - len(seq)) for seq in ids])
    assert torch.equal(t.splits["train"]["inputs"], expected)
    assert t.splits["train"]["lengths"].tolist() == [len(seq) for seq in ids]
    assert t.splits["validation"]["lengths"].tolist() == [3, 3]
    assert t.splits["validation"]["inputs"][1].tolist() == [vocab.unk_id] * 3
    assert t.splits["train"]["target"].tolist() == [i % 2 for i in range(len(texts))]
