"""The real benchmark data in ../shared/data loads as documented."""

import pytest
from conftest import shared_data

from rnnbench.contract.registry import get_registry

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)


def make(task, **options):
    spec = get_registry().task(task)
    t = spec.factory(
        spec.options.resolve({k: str(v) for k, v in options.items()}, "task"), batch_size=64, seed=0
    )
    t.prepare()
    return t


def test_sst2_splits_vocabulary_and_baseline():
    t = make("text-classification", dataset=shared_data("sst2"))
    sizes = [len(t.splits[s]["target"]) for s in ("train", "validation", "test")]
    assert sizes == [60614, 6735, 872]
    assert t.level == "word" and t.labels == [0, 1]
    assert 10000 < len(t.vocab) < 20000
    test = t.splits["test"]["target"]
    assert t.baseline() == pytest.approx(float((test == 1).float().mean()))  # majority: positive
    assert 0.5 < t.baseline() < 0.52


def test_tiny_shakespeare_is_split_90_5_5_at_character_level():
    t = make("language-modelling", dataset=shared_data("tinyshakespeare/input.txt"))
    n = 1_115_394
    assert t.ids["validation"].numel() == t.ids["test"].numel() == int(n * 0.05)
    assert sum(t.ids[s].numel() for s in ("train", "validation", "test")) == n
    assert len(t.vocab) == 65 + 2  # 65 characters, padding and unknown
    assert 3.0 < t.baseline() < 3.6  # unigram character entropy in nats
