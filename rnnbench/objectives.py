"""Reusable heads, losses and metrics for task plugins.

Each objective maps model features to predictions (`head`), scores them (`loss`),
and names its torchmetrics (averaging always explicit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from torchmetrics import Metric

IGNORE_INDEX = -100  # target value of padded steps in per-step objectives


class ObjectiveTask:
    """Mixin for `rnnbench.Task`: head, loss and metrics delegated to `self.objective`
    (one of the objectives below), scoring predictions against batch["target"].

        class MyTask(ObjectiveTask, rnnbench.Task): ...
    """

    objective: Any

    def head(self, in_features: int) -> nn.Module:
        return self.objective.head(in_features)

    def loss(self, prediction: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.objective.loss(prediction, batch["target"])

    def metrics(self) -> dict[str, Metric]:
        return self.objective.metrics()


class Classification:
    """One label per sequence: features (B, D) -> logits (B, C); cross-entropy.

    Metrics: `acc` (micro accuracy) and `f1` (macro-averaged F1).
    """

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def head(self, in_features: int) -> nn.Module:
        return nn.Linear(in_features, self.num_classes)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target)

    def metrics(self) -> dict[str, Metric]:
        from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

        return {
            "acc": MulticlassAccuracy(self.num_classes, average="micro"),
            "f1": MulticlassF1Score(self.num_classes, average="macro"),
        }

    @staticmethod
    def majority_accuracy(train_labels: torch.Tensor, test_labels: torch.Tensor) -> float:
        """Test accuracy of always predicting the training split's most frequent label."""
        majority = torch.bincount(train_labels).argmax()
        return float((test_labels == majority).float().mean())


class Regression:
    """One real target per sequence: features (B, D) -> (B,); mean squared error."""

    def head(self, in_features: int) -> nn.Module:
        return nn.Sequential(nn.Linear(in_features, 1), nn.Flatten(0))

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(prediction, target)

    def metrics(self) -> dict[str, Metric]:
        from torchmetrics import MeanSquaredError

        return {"mse": MeanSquaredError()}


class StepClassification:
    """A label per time step: features (B, T, D) -> logits (B, T, C); cross-entropy
    averaged over the steps whose target is not IGNORE_INDEX."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def head(self, in_features: int) -> nn.Module:
        return nn.Linear(in_features, self.num_classes)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, self.num_classes), target.reshape(-1),
                               ignore_index=IGNORE_INDEX)
