"""Synthetic tasks: generators checked against independent computations."""

import math

import pytest
import torch

from rnnbench.contract.registry import get_registry


def make(task, batch_size=32, seed=0, **options):
    spec = get_registry().task(task)
    values = spec.options.resolve({k: str(v) for k, v in options.items()}, "task")
    t = spec.factory(values, batch_size=batch_size, seed=seed)
    t.prepare()
    return t


def test_adding_problem_targets_and_baseline():
    t = make("adding", seq_len=30, train_size=2000, val_size=10, test_size=4000)
    data = t.splits[0].tensors
    x, y = data["inputs"], data["target"]
    assert x.shape == (2000, 30, 2)
    marks = x[..., 1]
    assert torch.all(marks.sum(1) == 2)
    assert torch.all(marks[:, :15].sum(1) == 1) and torch.all(marks[:, 15:].sum(1) == 1)
    assert torch.allclose((x[..., 0] * marks).sum(1), y)
    assert abs(t.baseline() - 1 / 6) < 0.01  # E[(U1 + U2 - 1)^2] = 1/6


def test_validation_and_test_sets_do_not_depend_on_the_run_seed():
    a = make("adding", seed=1, train_size=50, val_size=20, test_size=20)
    b = make("adding", seed=2, train_size=50, val_size=20, test_size=20)
    assert not torch.equal(a.splits[0].tensors["inputs"], b.splits[0].tensors["inputs"])
    for split in (1, 2):
        assert torch.equal(a.splits[split].tensors["inputs"], b.splits[split].tensors["inputs"])
    again = make("adding", seed=1, train_size=50, val_size=20, test_size=20)
    assert torch.equal(a.splits[0].tensors["inputs"], again.splits[0].tensors["inputs"])


def test_copy_memory_layout_and_baseline():
    T = 15
    t = make("copy", seq_len=T, train_size=100, val_size=10, test_size=10)
    d = t.splits[0].tensors
    x, y = d["inputs"], d["target"]
    assert x.shape == (100, T + 20)
    assert torch.all((x[:, :10] >= 1) & (x[:, :10] <= 8))
    assert torch.all(x[:, 10 + T - 1] == 9) and int((x == 9).sum()) == 100
    assert torch.equal(y[:, -10:], x[:, :10])
    assert torch.all(y[:, :-10] == 0)
    assert math.isclose(t.baseline(), 10 * math.log(8) / (T + 20))


def test_copy_recall_accuracy_reads_only_the_last_ten_steps():
    t = make("copy", seq_len=5, train_size=4, val_size=4, test_size=4)
    batch = t.splits[0][list(range(4))]
    target = batch["target"]  # (4, 25): blanks (0), then the 10 symbols to recall
    wrong = (target + 1) % 10  # a different class at every step
    prediction = torch.nn.functional.one_hot(wrong, 10).float()  # (4, 25, 10) logits
    prediction[:, -10:] = torch.nn.functional.one_hot(target[:, -10:], 10).float()
    assert not torch.equal(prediction.argmax(-1)[:, :-10], target[:, :-10])
    metrics = t.metrics()
    t.update_metrics(metrics, prediction, batch)  # wrong everywhere before the recall window
    assert float(metrics["recall_acc"].compute()) == 1.0

    prediction[0, -10:-7] = torch.nn.functional.one_hot(wrong[0, -10:-7], 10).float()
    metrics = t.metrics()
    t.update_metrics(metrics, prediction, batch)  # 3 of the 4 x 10 recalled symbols wrong
    assert float(metrics["recall_acc"].compute()) == pytest.approx(37 / 40)


def evaluate_listops(tokens):
    """An independent stack-based evaluator of prefix ListOps token strings."""
    stack = []
    for tok in tokens:
        if tok.startswith("["):
            stack.append([tok])
        elif tok == "]":
            op, *args = stack.pop()
            if op == "[MAX":
                value = max(args)
            elif op == "[MIN":
                value = min(args)
            elif op == "[SM":
                value = sum(args) % 10
            else:
                value = sorted(args)[(len(args) - 1) // 2]
            if not stack:
                return value
            stack[-1].append(value)
        else:
            stack[-1].append(int(tok))
    raise AssertionError("unbalanced expression")


def test_listops_labels_match_an_independent_evaluator():
    from rnnbench_tasks.synthetic import LISTOPS_VOCAB

    t = make("listops", seq_len=60, depth=4, train_size=400, val_size=10, test_size=200)
    d = t.splits[0].tensors
    assert int(d["lengths"].max()) <= 60
    for row, length, label in zip(d["inputs"], d["lengths"], d["target"], strict=True):
        tokens = [LISTOPS_VOCAB[i] for i in row[:length].tolist()]
        assert evaluate_listops(tokens) == int(label)
        assert row[length:].eq(0).all()
    labels = d["target"]
    assert len(labels.unique()) == 10
    majority = int(torch.bincount(labels).argmax())
    test = t.splits[2].tensors["target"]
    assert t.baseline() == pytest.approx(float((test == majority).float().mean()))
