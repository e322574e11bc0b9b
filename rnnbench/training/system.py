"""One LightningModule for every compatible (model, task) pair.

The model is a plain nn.Module from a model plugin; the task owns the head, the loss
and the metrics. This module adds optimisation, stateful windows for language
modelling, epoch metrics, divergence detection, throughput and gradient-norm
statistics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torchmetrics import MeanMetric

from rnnbench.contract.specs import Task
from rnnbench.training.class_report import ClassReport
from rnnbench.training.schedules import (
    NonMonotoneTrigger,
    averaged_weights,
    scheduler_configs,
    swap_averaged,
)
from rnnbench.training.seq2seq_step import seq2seq_step

EVAL_STAGES = ("val", "test")  # stages with task metrics (training logs its loss only)


def detach_state(state: Any) -> Any:
    """Detach a recurrent state (tensor, or nested tuple/list of tensors) from the graph."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


def fused_when_possible(params: list[torch.Tensor]) -> dict[str, bool]:
    """{"fused": True} when torch has a fused Adam kernel for every parameter (dense
    floating-point tensors on the CPU, CUDA, ...), else {} (torch's default).

    On the CPU torch's default is the single-tensor loop, about a dozen elementwise
    kernels per parameter tensor; the fused kernel makes one pass. For a model with a
    large embedding (CTC-P's TextRNN: 3.0 M of 3.7 M parameters) that is most of the
    optimiser's time. Same update to float rounding (tests/test_optimizer.py)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        devices = set(_get_fused_kernels_supported_devices())
    except ImportError:  # an older torch: its default
        return {}
    fusable = all(
        p.device.type in devices and p.is_floating_point() and not p.is_sparse for p in params
    )
    return {"fused": True} if params and fusable else {}


#: Attributes that are never parameters, buffers or modules, and are set every step.
_PER_STEP_ATTRIBUTES = frozenset(
    {"_current_fx_name", "_step_start", "train_seconds", "train_count", "_grad_norm"}
)


class BenchmarkSystem(pl.LightningModule):
    """Model + task head trained with the task's loss.

    Logged per epoch: `{stage}_loss` (mean over the task's loss weights, e.g. tokens)
    and `{stage}_{metric}` for each task metric, plus the task's derived metrics.
    A model whose training forward sets `model.penalty` (a scalar tensor, e.g. awd-lstm's
    AR/TAR) has it added to the minimised loss; the logged loss is the task's alone.
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        lr: float = 3e-3,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        stateful: bool = False,
        clip_value: float | None = None,
        clip_algorithm: str = "none",
        needs: frozenset[str] = frozenset(),
        schedule: Mapping[str, Any] | None = None,
        monitor: str = "val_loss",
        mode: str = "min",
    ) -> None:
        """schedule: the train.* options of rnnbench.training.schedules (lr_schedule,
        warmup_steps, ...; None: constant lr); monitor/mode: the task's validation
        metric, read by the plateau schedule and NT-ASGD's trigger."""
        super().__init__()
        self.model = model
        self.task = task
        self.output_kind = task.context().output
        self.head = task.head(model.output_size)
        self.lr = lr
        self.optimizer_name = optimizer
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.stateful = stateful
        self.clip_value = clip_value
        self.clip_algorithm = clip_algorithm
        self.schedule = dict(schedule or {"lr_schedule": "none", "warmup_steps": 0})
        self.monitor, self.mode = monitor, mode
        # NT-ASGD (optimizer "asgd"): the switch, and whether the averaged weights are in
        # the parameters (during validation) instead of the SGD iterates
        self.trigger = (
            NonMonotoneTrigger(self.schedule.get("asgd_nonmono", 5))
            if optimizer == "asgd"
            else None
        )
        self.averaging = False
        self._swapped: list | None = None
        self.needs = tuple(sorted(needs))  # batch entries passed to the model by name ("tree")
        # ModuleDict keys may not shadow nn.Module attributes such as `train`.
        self.metrics = nn.ModuleDict(
            {f"{stage}_": nn.ModuleDict(task.metrics()) for stage in EVAL_STAGES}
        )
        self.loss_means = nn.ModuleDict(
            {f"{stage}_": MeanMetric(nan_strategy="ignore") for stage in EVAL_STAGES}
        )
        # training-loss sum and weight of the epoch (finite steps only)
        self.register_buffer("_train_sum", torch.zeros(()), persistent=False)
        self.register_buffer("_train_weight", torch.zeros((), dtype=torch.long), persistent=False)
        self._state: dict[str, Any] = {}
        self.diverged = False
        self.class_report = ClassReport.for_task(task)  # test confusion matrix, or None
        # Throughput: training step time (forward, backward, optimiser) and its samples.
        self.train_seconds = 0.0
        self.train_count = 0
        self._step_start = 0.0
        # Gradient norm before clipping, and how often clipping was active (whole run).
        self.register_buffer("_norm_sum", torch.zeros(()), persistent=False)
        self.register_buffer("_norm_steps", torch.zeros((), dtype=torch.long), persistent=False)
        self.register_buffer("_clipped_steps", torch.zeros((), dtype=torch.long), persistent=False)

    def __setattr__(self, name: str, value: Any) -> None:
        # Plain attributes written on every step (Lightning sets _current_fx_name around
        # each hook call, a dozen times a step) skip nn.Module.__setattr__'s parameter,
        # buffer and submodule checks: 0.1-0.3 ms a step, a few % of a small model's step.
        if name in _PER_STEP_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def loss_of(self, out: Any, batch: Mapping[str, Any]) -> torch.Tensor:
        """The task's loss of a ModelOutput on `batch` (through the head): what
        diagnostics differentiate."""
        features = getattr(out, self.output_kind, None)  # sequence, pooled or nodes
        return self.task.loss(self.head(features), batch)

    def forward(
        self, inputs: torch.Tensor, lengths: torch.Tensor, state: Any = None, **structure: Any
    ):
        """Returns (prediction from the task head, the model's ModelOutput); `structure`
        holds the batch entries the model needs (ModelSpec.needs, e.g. tree=)."""
        out = self.model(inputs, lengths, state=state, **structure)
        features = getattr(out, self.output_kind, None)  # sequence, pooled or nodes
        return self.head(features), out

    def _shared_step(self, batch: Mapping[str, Any], stage: str) -> torch.Tensor:
        if self.output_kind == "seq2seq":  # teacher-forced loss, metrics of decoding
            return seq2seq_step(self, batch, stage)
        state = self._state.get(stage) if self.stateful else None
        prediction, out = self(
            batch["inputs"], batch["lengths"], state, **{name: batch[name] for name in self.needs}
        )
        if self.stateful:
            self._state[stage] = detach_state(out.state)
        loss = self.task.loss(prediction, batch)
        if stage != "train":
            self.loss_means[f"{stage}_"].update(loss.detach(), weight=self.task.loss_weight(batch))
            self.task.update_metrics(self.metrics[f"{stage}_"], prediction.detach(), batch)
            if stage == "test" and self.class_report is not None:
                self.class_report.update(prediction.detach(), batch["target"])
        return loss

    # ----------------------------------------------------------------- training
    def on_fit_start(self) -> None:
        # the trainable parameters, listed once: walking the module tree (metrics
        # included) twice per step cost 0.1 ms, a tenth of a small model's overhead
        self._trainable = [p for p in self.parameters() if p.requires_grad]

    def on_train_epoch_start(self) -> None:
        self._state.pop("train", None)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self._swapped is not None:  # NT-ASGD: back to the iterates after validation
            swap_averaged(self._swapped)
            self._swapped = None
        self._step_start = time.perf_counter()

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor | None:
        loss = self._shared_step(batch, "train")
        if not torch.isfinite(loss):
            self.diverged = True
            self.trainer.should_stop = True
            return None  # skip the optimiser step on a non-finite loss
        weight = self.task.loss_weight(batch)  # the hot path: two tensor adds per step
        self._train_sum.add_(loss.detach() * weight)  # in place: no Module.__setattr__
        self._train_weight.add_(weight)
        if self.trainer.progress_bar_callback is not None:
            self.log(
                "loss",
                loss.detach(),
                prog_bar=True,
                logger=False,
                on_step=True,
                on_epoch=False,
                batch_size=int(batch["lengths"].shape[0]),
            )
        self._record_step("loss", loss.detach())
        # a model's own training penalty (e.g. awd-lstm's AR/TAR), set by its forward
        penalty = getattr(self.model, "penalty", None)
        return loss + penalty if penalty is not None else loss

    def _record_step(self, name: str, value: torch.Tensor) -> None:
        """A per-step value, every log_every_n_steps steps, straight to the logger (the
        hot path pays nothing on the other steps)."""
        if self.logger is not None and self.global_step % self.trainer.log_every_n_steps == 0:
            self.logger.log_metrics({name: float(value)}, step=self.global_step)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.train_seconds += time.perf_counter() - self._step_start
        self.train_count += self.task.count(batch)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Total gradient norm (L2 over all parameters) before clipping, every step;
        a step counts as clipped when the threshold changes its gradient."""
        grads = [p.grad for p in self._trainable if p.grad is not None]
        if not grads:
            return
        norm = torch.nn.utils.get_total_norm(grads)
        self._grad_norm = norm  # reused by configure_gradient_clipping (one pass, not two)
        if self.clip_algorithm == "norm":
            clipped = norm > self.clip_value
        elif self.clip_algorithm == "value":
            clipped = torch.stack([g.abs().max() for g in grads]).max() > self.clip_value
        else:
            clipped = torch.zeros((), dtype=torch.bool, device=norm.device)
        # accumulated on the device: no host sync on the training path
        self._norm_sum.add_(norm.detach())
        self._norm_steps.add_(1)
        self._clipped_steps.add_(clipped)
        self._record_step("grad_norm", norm)
        self._record_step("lr", optimizer.param_groups[0]["lr"])

    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ) -> None:
        """Lightning's clipping, with the norm measured just before (same result)."""
        if gradient_clip_val is None:
            return
        if gradient_clip_algorithm == "norm" and getattr(self, "_grad_norm", None) is not None:
            params = [p for p in self._trainable if p.grad is not None]
            torch.nn.utils.clip_grads_with_norm_(params, gradient_clip_val, self._grad_norm)
            return
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    # --------------------------------------------------------------- validation
    def on_validation_epoch_start(self) -> None:
        self._state.pop("val", None)
        fitting = self._trainer is not None and self.trainer.state.fn == "fit"
        if self.averaging and fitting and self._swapped is None:
            # NT-ASGD evaluates (and checkpoints) the averaged weights
            self._swapped = averaged_weights(self.trainer.optimizers[0])
            swap_averaged(self._swapped)

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        values = self._log_epoch("val")
        value = values.get(self.monitor)
        if (
            self.trigger is not None
            and not self.averaging
            and value is not None
            and self.trainer.state.fn == "fit"
            and not self.trainer.sanity_checking
        ):
            if self.trigger.update(value if self.mode == "min" else -value):
                self.start_averaging()

    def start_averaging(self) -> None:
        """NT-ASGD's switch: averaged SGD from the next step on, at the same lr."""
        self.averaging = True
        self.trainer.strategy.optimizers = [
            torch.optim.ASGD(
                self.parameters(), lr=self.lr, t0=0, lambd=0.0, weight_decay=self.weight_decay
            )
        ]
        self.log("asgd_switch_epoch", float(self.current_epoch), logger=True)

    # --------------------------------------------------------------------- test
    def on_test_epoch_start(self) -> None:
        self._state.pop("test", None)
        if self.class_report is not None:
            self.class_report.reset()

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def _log_epoch(self, stage: str) -> dict[str, float]:
        """Compute (and, under DDP, synchronise) the epoch's metrics, then reset them;
        returns them."""
        values: dict[str, float] = {}
        if stage == "train":
            total = self.trainer.strategy.reduce(self._train_sum.clone(), reduce_op="sum")
            weight = self.trainer.strategy.reduce(self._train_weight.clone(), reduce_op="sum")
            if weight > 0:
                values["train_loss"] = float(total / weight)
            self._train_sum.zero_()
            self._train_weight.zero_()
        elif self.loss_means[f"{stage}_"].update_count:
            loss = self.loss_means[f"{stage}_"].compute()
            values[f"{stage}_loss"] = float(loss) if torch.isfinite(loss) else math.nan
        if stage != "train":
            self.loss_means[f"{stage}_"].reset()
            for name, metric in self.metrics[f"{stage}_"].items():
                if metric.update_count:
                    values[f"{stage}_{name}"] = float(metric.compute())
                metric.reset()
        if self.diverged and stage == "val":
            values[f"{stage}_loss"] = math.nan
        values.update(self.task.derived_metrics(values, stage))
        if stage == "train" and self.grad_norm_mean is not None:
            values["grad_norm_mean"] = self.grad_norm_mean
            values["clip_fraction"] = self.clip_fraction or 0.0  # set with grad_norm_mean
        # Training-epoch values go to the logger here, and are written (save) before
        # ResumeCheckpoint saves the epoch; Lightning would log them only after it.
        direct = stage == "train" and self.logger is not None
        for name, value in values.items():
            self.log(name, value, prog_bar=name.startswith("val_"), logger=not direct)
        if direct:
            self.logger.log_metrics(values, step=max(self.global_step - 1, 0))
            self.logger.save()
        return values

    # --------------------------------------------------------------- optimisers
    def configure_optimizers(self):
        """The optimiser, with the schedule's Lightning scheduler configurations
        (rnnbench.training.schedules) when train.lr_schedule or warmup_steps asks."""
        optimizer = self._optimizer()
        total = 0
        if self.schedule.get("lr_schedule") == "cosine":
            total = int(self.trainer.estimated_stepping_batches)
        configs = (
            scheduler_configs(
                optimizer, {"lr": self.lr, **self.schedule}, total, self.monitor, self.mode
            )
            if self.schedule.get("lr_schedule", "none") != "none"
            or self.schedule.get("warmup_steps", 0) > 1
            else []
        )
        return ([optimizer], configs) if configs else optimizer

    def _optimizer(self) -> torch.optim.Optimizer:
        params = list(self.parameters())
        if self.optimizer_name in ("adam", "adamw"):
            adam = torch.optim.Adam if self.optimizer_name == "adam" else torch.optim.AdamW
            fused = fused_when_possible(params)
            precision = str(getattr(self._trainer, "precision", ""))
            if self.clip_algorithm != "none" and precision.startswith("16"):
                # Lightning's GradScaler path refuses to clip the gradients of an
                # optimiser that unscales them itself, as the fused one does
                fused = {}
            return adam(params, lr=self.lr, weight_decay=self.weight_decay, **fused)
        if self.optimizer_name == "rmsprop":
            return torch.optim.RMSprop(
                params, lr=self.lr, weight_decay=self.weight_decay, momentum=self.momentum
            )
        if self.optimizer_name == "asgd":  # NT-ASGD's first phase: SGD without momentum
            return torch.optim.SGD(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(
            params, lr=self.lr, weight_decay=self.weight_decay, momentum=self.momentum
        )

    @property
    def grad_norm_mean(self) -> float | None:
        """Mean total gradient norm before clipping over all steps so far."""
        steps = int(self._norm_steps)
        return float(self._norm_sum) / steps if steps else None

    @property
    def clip_fraction(self) -> float | None:
        steps = int(self._norm_steps)
        return int(self._clipped_steps) / steps if steps else None

    @property
    def throughput(self) -> float:
        return self.train_count / self.train_seconds if self.train_seconds > 0 else 0.0
