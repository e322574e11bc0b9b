"""The contracts between the core and its plugins: model specs, task specs, the Task runtime.

Data flows one way: a task turns its options into batches and a `ModelContext`;
the model spec's builder turns that context plus typed hyperparameters into a plain
`torch.nn.Module`; the task's head, loss and metrics turn the model's `ModelOutput`
into numbers. The core's `BenchmarkSystem` wires them together.

Batch contract (a dict, produced by the task's DataModule):
    "inputs":  LongTensor (B, T) of token ids      when input kind is "tokens"
               FloatTensor (B, T, F) of features   when input kind is "features"
    "lengths": LongTensor (B,) true lengths, 1 <= lengths <= T, positions >= length are padding
    "target":  whatever the task's loss and metrics consume

Model contract: `model(inputs, lengths, state=None) -> ModelOutput`, with an int
attribute `output_size` (the D below).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from rnnbench.contract.params import ParamSet

if TYPE_CHECKING:
    import lightning.pytorch as pl
    import torch
    from torchmetrics import Metric

InputKind = Literal["tokens", "features"]
OutputKind = Literal["sequence", "pooled"]
INPUT_KINDS = ("tokens", "features")
OUTPUT_KINDS = ("sequence", "pooled")


class _ModelOutputFields(NamedTuple):
    sequence: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    state: Any = None


_NOT_GIVEN = object()
_HIDDEN_DEPRECATED = (
    "ModelOutput(hidden=...) is deprecated and ignored (nothing read it); it will be "
    "removed in rnnbench 0.3. Gradient-flow diagnostics take the per-step states from "
    "forward_unrolled() (ModelSpec.hidden_states=True)."
)


class ModelOutput(_ModelOutputFields):
    """What a model returns.

    sequence: (B, T, D) per-step features, or None when not requested. For a causal
              model, sequence[:, t] depends only on inputs[:, :t+1].
    pooled:   (B, D) one vector per sequence (computed from its true length), or None.
    state:    recurrent state to pass back as `state=` on the next consecutive window
              (stateful language modelling); the core detaches it between windows.

    Deprecated: the former fourth field `hidden` was never read. Passing it (by keyword
    or as a fourth positional argument) still works for plugins written against
    rnnbench 0.1, with a DeprecationWarning, and is dropped; reading `.hidden` warns
    and gives None. Both go in rnnbench 0.3.
    """

    __slots__ = ()

    def __new__(cls, sequence: torch.Tensor | None = None, pooled: torch.Tensor | None = None,
                state: Any = None, hidden: Any = _NOT_GIVEN) -> ModelOutput:
        if hidden is not _NOT_GIVEN:
            import warnings

            warnings.warn(_HIDDEN_DEPRECATED, DeprecationWarning, stacklevel=2)
        return super().__new__(cls, sequence, pooled, state)

    @property
    def hidden(self) -> None:
        import warnings

        warnings.warn(_HIDDEN_DEPRECATED, DeprecationWarning, stacklevel=2)
        return None


@dataclass(frozen=True)
class ModelContext:
    """What a task tells a model builder about its inputs and the output it needs.

    input_kind:   "tokens" (then vocab_size and padding_idx are set) or "features"
                  (then feature_size is set).
    output:       "sequence" or "pooled": which field of ModelOutput the task reads.
    stateful:     True when the task feeds consecutive windows and passes `state` back.
    segment_token: for token tasks with sentence structure, the id that ends a sentence
                  (models such as memory networks may use it), else None.
    max_children: for tasks with trees (rnnbench.contract.trees), the largest number of
                  children K of any node in any split, else None.
    """

    input_kind: InputKind
    output: OutputKind
    vocab_size: int | None = None
    padding_idx: int | None = None
    feature_size: int | None = None
    stateful: bool = False
    segment_token: int | None = None
    max_children: int | None = None  # tree tasks: K, the most children of any node


ModelBuilder = Callable[..., "torch.nn.Module"]


@dataclass(frozen=True)
class ModelSpec:
    """A model plugin's declaration.

    builder:  `builder(context: ModelContext, **hyperparameters) -> nn.Module`.
    params:   typed hyperparameters with defaults and search spaces.
    inputs:   input kinds the model accepts.
    outputs:  output kinds it can produce ("sequence" per step, "pooled" per sequence).
    causal:   whether sequence outputs are causal; a callable decides from the
              hyperparameters (e.g. an LSTM with bidirectional=True is not).
    stateful: whether it accepts and returns a recurrent `state` across windows.
    length_aware: whether padding beyond `lengths` leaves its outputs unchanged.
    hidden_states: whether the model has `forward_unrolled(inputs, lengths) ->
              (ModelOutput, [h_1, ..., h_T])`, each h_t a tensor on the computation
              path (so dL/dh_t is the total derivative through time); a callable
              decides from the hyperparameters. Needed for gradient-flow diagnostics.
    width:    the name of the int hyperparameter that sets the model's width (e.g.
              "hidden_size"), or None. Declaring it lets `--param-budget N` size the
              model: the trainable parameter count must not decrease as it grows.
    needs:    batch entries beyond inputs and lengths that the model reads, passed to
              it as keyword arguments of the same name: {"tree"} for a tree model
              (rnnbench.contract.trees); only tasks that provide them can run it.
    """

    name: str
    builder: ModelBuilder
    params: ParamSet = field(default_factory=ParamSet)
    inputs: frozenset[str] = frozenset(INPUT_KINDS)
    outputs: frozenset[str] = frozenset(OUTPUT_KINDS)
    causal: bool | Callable[[Mapping[str, Any]], bool] = True
    stateful: bool = False
    length_aware: bool = True
    hidden_states: bool | Callable[[Mapping[str, Any]], bool] = False
    description: str = ""
    reference: str = ""
    width: str | None = None
    needs: frozenset[str] = frozenset()

    def exposes_hidden(self, hparams: Mapping[str, Any]) -> bool:
        return self.hidden_states(hparams) if callable(self.hidden_states) else bool(self.hidden_states)

    def is_causal(self, hparams: Mapping[str, Any]) -> bool:
        return self.causal(hparams) if callable(self.causal) else bool(self.causal)


TaskFactory = Callable[..., "Task"]


@dataclass(frozen=True)
class TaskSpec:
    """A task plugin's declaration.

    factory:  `factory(options: dict, batch_size: int, seed: int) -> Task`; must check
              its options (paths exist, sizes positive) without writing anything.
    options:  typed task options (`--set task.KEY=VALUE`).
    input_kind / output: what the model must accept and produce.
    causal:   True when the model must not see the future (next-step prediction).
    monitor / mode: the validation metric that early stopping, checkpoints and
              sweeps optimise, and whether lower ("min") or higher ("max") is better.
    main_metric: the test metric the leaderboard ranks by (without the "test_" prefix).
    solved:   optional `solved(test_metrics) -> bool`, the task's own success criterion.
    length_option: the name of the option that sets the dependency length (e.g.
              "seq_len"), for tasks whose difficulty grows with it; with `solved`, it
              lets `rnnbench horizon` measure the longest length a model learns.
    provides: batch entries beyond inputs, lengths and target that its batches carry
              for the models that need them: {"tree"} for a TreeBatch.
    """

    name: str
    factory: TaskFactory
    input_kind: InputKind
    output: OutputKind
    options: ParamSet = field(default_factory=ParamSet)
    causal: bool = False
    stateful: bool = False
    monitor: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    main_metric: str = "loss"
    solved: Callable[[Mapping[str, float]], bool] | None = None
    synthetic: bool = False
    description: str = ""
    length_option: str | None = None
    provides: frozenset[str] = frozenset()


class Task(abc.ABC):
    """The runtime side of a task: data, head, loss, metrics and baseline.

    `prepare()` loads or generates the data (idempotent, writes nothing outside the
    datasets cache); after it, `context()`, `head()` and `baseline()` are valid.
    """

    #: unit of `count(batch)`: "samples" or "tokens", used for throughput.
    throughput_unit: str = "samples"
    #: unit of the main metric as a reader needs it ("MSE", "nats/char", "accuracy").
    metric_unit: str = ""
    #: what the trivial baseline predicts ("predict 1", "training majority class").
    baseline_name: str = ""

    @property
    @abc.abstractmethod
    def datamodule(self) -> pl.LightningDataModule: ...

    @abc.abstractmethod
    def prepare(self) -> None: ...

    @abc.abstractmethod
    def context(self) -> ModelContext: ...

    @abc.abstractmethod
    def head(self, in_features: int) -> torch.nn.Module:
        """Maps the model's (…, D) output to the task's predictions."""

    @abc.abstractmethod
    def loss(self, prediction: torch.Tensor, batch: Mapping[str, Any]) -> torch.Tensor:
        """Mean loss over the batch's real (unpadded) targets."""

    def metrics(self) -> dict[str, Metric]:
        """Fresh torchmetrics, keyed by name without stage prefix ("acc", "f1")."""
        return {}

    def update_metrics(
        self, metrics: Mapping[str, Metric], prediction: torch.Tensor, batch: Mapping[str, Any]
    ) -> None:
        for metric in metrics.values():
            metric.update(prediction, batch["target"])

    def loss_weight(self, batch: Mapping[str, Any]) -> int:
        """How many targets the batch's mean loss averages over (for epoch means)."""
        return int(batch["lengths"].shape[0])

    def count(self, batch: Mapping[str, Any]) -> int:
        """Samples (or tokens) in the batch, for throughput."""
        return int(batch["lengths"].shape[0])

    def baseline(self) -> float | None:
        """The trivial predictor's value of the main metric on the test split."""
        return None

    def derived_metrics(self, metrics: Mapping[str, float], stage: str) -> dict[str, float]:
        """Extra metrics computed from the epoch's values (e.g. perplexity from loss)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Small facts about the data (sizes, vocabulary) to log as params."""
        return {}

    def artifacts(self) -> dict[str, Any]:
        """JSON-serialisable artifacts to save with the run (e.g. a label map)."""
        return {}


def compatibility(
    model: ModelSpec, task: TaskSpec, hparams: Mapping[str, Any] | None = None
) -> str | None:
    """None when the pair can run, else a one-line reason it cannot."""
    hparams = hparams if hparams is not None else model.params.defaults()
    if task.input_kind not in model.inputs:
        return (
            f"model {model.name!r} accepts {'/'.join(sorted(model.inputs))} inputs, "
            f"task {task.name!r} gives {task.input_kind}"
        )
    from rnnbench.contract.trees import missing_structure

    missing = missing_structure(model.needs, task.provides, model.name, task.name)
    if missing:
        return missing
    if task.output not in model.outputs:
        return (
            f"task {task.name!r} needs {task.output} outputs, model {model.name!r} gives "
            f"only {'/'.join(sorted(model.outputs))}"
        )
    if task.causal and not model.is_causal(hparams):
        return (
            f"task {task.name!r} predicts the next step and needs a causal model; "
            f"model {model.name!r} sees the future (bidirectional)"
        )
    return None


