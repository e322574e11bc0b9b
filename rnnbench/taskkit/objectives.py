"""Reusable heads, losses, metrics and baselines for task plugins (public through
`rnnbench.taskkit`).

Each objective maps model features to predictions (`head`), scores them (`loss`),
names its torchmetrics (averaging always explicit), feeds them (`update_metrics`)
and defines its trivial baseline from the training and test targets (`baseline`),
in the unit of the task's main metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads on first use, so that task plugins import without it
    import torch
    from torch import nn
    from torchmetrics import Metric

IGNORE_INDEX = -100  # target value of padded steps in per-step objectives


class ObjectiveTask:
    """Mixin for `rnnbench.Task`: head, loss, metrics and their updates delegated to
    `self.objective` (one of the objectives below, or any object with the same five
    methods), scoring predictions against batch["target"].

        class MyTask(ObjectiveTask, rnnbench.Task): ...
    """

    objective: Any

    def head(self, in_features: int) -> nn.Module:
        return self.objective.head(in_features)

    def loss(self, prediction: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.objective.loss(prediction, batch["target"])

    def metrics(self) -> dict[str, Metric]:
        return self.objective.metrics()

    def class_names(self) -> list[str] | None:
        """The objective's class names when it has them (Classification), else None."""
        names = getattr(self.objective, "class_names", None)
        return names() if callable(names) else None

    def update_metrics(
        self, metrics: Mapping[str, Metric], prediction: torch.Tensor, batch: Mapping[str, Any]
    ) -> None:
        self.objective.update_metrics(metrics, prediction, batch["target"])


class Classification:
    """One label per sequence: features (B, D) -> logits (B, C); cross-entropy.

    Metrics: `acc` (micro accuracy) and `f1` (macro-averaged F1). `names` (optional,
    one per class in id order) label the per-class report; by default the ids.
    """

    def __init__(self, num_classes: int, names: list[str] | None = None) -> None:
        if num_classes < 2:
            from rnnbench.contract.errors import DataError

            shown = f" ({', '.join(map(str, names))})" if names else ""
            raise DataError(
                f"the training labels hold {num_classes} class{shown}: a "
                "classifier needs at least 2 (is task.label_column the label?)"
            )
        self.num_classes = num_classes
        self.names = [str(n) for n in names] if names is not None else None

    def class_names(self) -> list[str]:
        return self.names if self.names is not None else [str(i) for i in range(self.num_classes)]

    def head(self, in_features: int) -> nn.Module:
        from torch import nn

        return nn.Linear(in_features, self.num_classes)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return F.cross_entropy(logits, target)

    def metrics(self) -> dict[str, Metric]:
        from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

        return {
            "acc": MulticlassAccuracy(self.num_classes, average="micro"),
            "f1": MulticlassF1Score(self.num_classes, average="macro"),
        }

    def update_metrics(
        self, metrics: Mapping[str, Metric], logits: torch.Tensor, target: torch.Tensor
    ) -> None:
        for metric in metrics.values():
            metric.update(logits, target)

    @staticmethod
    def majority_accuracy(train_labels: torch.Tensor, test_labels: torch.Tensor) -> float:
        """Test accuracy of always predicting the training split's most frequent label
        (the training majority scored on test: 0.5 only if both agree on balance)."""
        import torch

        majority = torch.bincount(train_labels).argmax()
        return float((test_labels == majority).float().mean())

    def baseline(self, train_target: torch.Tensor, test_target: torch.Tensor) -> float:
        """Main metric `acc` of the majority predictor: see `majority_accuracy`."""
        return self.majority_accuracy(train_target, test_target)


class Regression:
    """One real target per sequence: features (B, D) -> (B,); mean squared error."""

    def head(self, in_features: int) -> nn.Module:
        from torch import nn

        return nn.Sequential(nn.Linear(in_features, 1), nn.Flatten(0))

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return F.mse_loss(prediction, target)

    def metrics(self) -> dict[str, Metric]:
        from torchmetrics import MeanSquaredError

        return {"mse": MeanSquaredError()}

    def update_metrics(
        self, metrics: Mapping[str, Metric], prediction: torch.Tensor, target: torch.Tensor
    ) -> None:
        for metric in metrics.values():
            metric.update(prediction, target)

    @staticmethod
    def constant_mse(value: float, test_target: torch.Tensor) -> float:
        """Test MSE of always predicting `value`."""
        return float(((test_target.float() - value) ** 2).mean())

    def baseline(self, train_target: torch.Tensor, test_target: torch.Tensor) -> float:
        """Main metric `mse` of always predicting the training split's mean target."""
        return self.constant_mse(float(train_target.float().mean()), test_target)


class StepClassification:
    """A label per time step: features (B, T, D) -> logits (B, T, C); targets (B, T)
    with IGNORE_INDEX at padded steps; cross-entropy averaged over the other steps.

    Metrics: `acc` (micro accuracy over the steps that are not IGNORE_INDEX).
    """

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def head(self, in_features: int) -> nn.Module:
        from torch import nn

        return nn.Linear(in_features, self.num_classes)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return F.cross_entropy(
            logits.reshape(-1, self.num_classes), target.reshape(-1), ignore_index=IGNORE_INDEX
        )

    def metrics(self) -> dict[str, Metric]:
        from torchmetrics.classification import MulticlassAccuracy

        return {
            "acc": MulticlassAccuracy(self.num_classes, average="micro", ignore_index=IGNORE_INDEX)
        }

    def update_metrics(
        self, metrics: Mapping[str, Metric], logits: torch.Tensor, target: torch.Tensor
    ) -> None:
        flat_logits = logits.reshape(-1, self.num_classes)  # (B*T, C)
        for metric in metrics.values():
            metric.update(flat_logits, target.reshape(-1))

    def baseline(self, train_target: torch.Tensor, test_target: torch.Tensor) -> float:
        """Main metric `loss` (nats per step) of a memoryless predictor: the training
        steps' label frequencies (add-one smoothed) scored on the test steps."""
        train = train_target[train_target != IGNORE_INDEX]
        test = test_target[test_target != IGNORE_INDEX]
        import torch

        counts = torch.bincount(train, minlength=self.num_classes).double() + 1.0  # (C,)
        log_p = (counts / counts.sum()).log()
        return float(-log_p[test].mean())


class StepRegression(Regression):
    """A real target per time step: features (B, T, D) -> (B, T); mean squared error over
    every step (equal-length sequences: targets (B, T) with no padding).

    Metrics: `mse` over all steps of the split.
    """

    def head(self, in_features: int) -> nn.Module:
        from torch import nn

        return nn.Sequential(nn.Linear(in_features, 1), nn.Flatten(-2))  # (B, T, 1) -> (B, T)

    def update_metrics(
        self, metrics: Mapping[str, Metric], prediction: torch.Tensor, target: torch.Tensor
    ) -> None:
        for metric in metrics.values():
            metric.update(prediction.reshape(-1), target.reshape(-1))

    def baseline(self, train_target: torch.Tensor, test_target: torch.Tensor) -> float:
        """Main metric `mse` of always predicting the training split's mean sequence (the
        mean target of each step, (T,)), scored on the test steps."""
        mean = train_target.float().mean(0)  # (T,)
        return float(((test_target.float() - mean) ** 2).mean())
