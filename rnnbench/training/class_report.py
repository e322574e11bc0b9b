"""The per-class report of a classification run: a confusion matrix accumulated over the
test pass (torchmetrics), and precision, recall, F1 and support per class from it.

Any task whose `class_names()` is not None gets one (the kit's `Classification`
objective supplies them). Matrix convention, as torchmetrics': rows are the true
classes, columns the predicted ones, M[i, j] = test examples of class i predicted j.

    precision_c = M[c, c] / sum_i M[i, c]      (0 when nothing was predicted c)
    recall_c    = M[c, c] / sum_j M[c, j]      (0 when class c has no example)
    F1_c        = 2 P R / (P + R)              (0 when P + R = 0)
    support_c   = sum_j M[c, j]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ClassReport(nn.Module):
    """Accumulates the test confusion matrix of (B, C) logits against (B,) targets."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        from torchmetrics.classification import MulticlassConfusionMatrix

        self.names = list(names)
        self.matrix = MulticlassConfusionMatrix(len(self.names))

    @classmethod
    def for_task(cls, task: Any) -> ClassReport | None:
        names = task.class_names() if callable(getattr(task, "class_names", None)) else None
        return cls(names) if names else None

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        self.matrix.update(logits, target)  # (B, C) scores, (B,) ids

    def reset(self) -> None:
        self.matrix.reset()

    def report(self) -> dict[str, Any] | None:
        """The report of the examples seen since the last reset (None: none seen)."""
        if not self.matrix.update_count:
            return None
        return per_class(self.matrix.compute(), self.names)


def per_class(matrix: torch.Tensor, names: list[str]) -> dict[str, Any]:
    """{"classes", "precision", "recall", "f1", "support" (lists, one per class),
    "confusion" (C x C nested list of ints, rows true), "accuracy", "macro_f1"}."""
    m = matrix.detach().to("cpu", torch.float64)  # (C, C)
    true_positive = m.diagonal()  # (C,)
    predicted, support = m.sum(0), m.sum(1)  # (C,) column and row sums
    precision = torch.where(predicted > 0, true_positive / predicted.clamp(min=1), 0.0)
    recall = torch.where(support > 0, true_positive / support.clamp(min=1), 0.0)
    both = precision + recall
    f1 = torch.where(both > 0, 2 * precision * recall / both.clamp(min=1e-300), 0.0)
    total = float(m.sum())
    return {
        "classes": list(names),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": [int(s) for s in support.tolist()],
        "confusion": m.long().tolist(),
        "accuracy": float(true_positive.sum()) / total if total else 0.0,
        "macro_f1": float(f1.mean()),
    }


def format_report(report: dict[str, Any], limit: int = 50) -> str:
    """A text table of the report (at most `limit` classes, the most frequent first
    when there are more), then accuracy and macro-F1 over all classes."""
    rows = list(range(len(report["classes"])))
    if len(rows) > limit:
        rows = sorted(rows, key=lambda c: -report["support"][c])[:limit]
    width = max(12, *(len(report["classes"][c]) for c in rows))
    lines = [f"  {'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for c in rows:
        lines.append(
            f"  {report['classes'][c]:<{width}} {report['precision'][c]:>9.4f} "
            f"{report['recall'][c]:>9.4f} {report['f1'][c]:>9.4f} "
            f"{report['support'][c]:>9,}"
        )
    if len(rows) < len(report["classes"]):
        lines.append(f"  ({len(report['classes']) - len(rows)} less frequent classes not shown)")
    lines.append(
        f"  {'accuracy':<{width}} {report['accuracy']:>9.4f}   macro-F1 "
        f"{report['macro_f1']:.4f}   ({sum(report['support']):,} test examples)"
    )
    return "\n".join(lines)


def report_table(report: dict[str, Any]) -> dict[str, list]:
    """The columns of the MLflow table (`log_table`): one row per class."""
    return {
        "class": report["classes"],
        "precision": report["precision"],
        "recall": report["recall"],
        "f1": report["f1"],
        "support": report["support"],
    }
