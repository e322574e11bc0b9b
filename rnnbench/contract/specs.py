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
from typing import TYPE_CHECKING, Any, Literal

from rnnbench.contract.outputs import ModelOutput  # noqa: F401  (re-exported: its old home)
from rnnbench.contract.params import ParamSet

if TYPE_CHECKING:
    import lightning.pytorch as pl
    import torch
    from torchmetrics import Metric

    from rnnbench.contract.generation import TokenCodec
    from rnnbench.contract.seq2seq import Seq2SeqTarget

InputKind = Literal["tokens", "features"]
OutputKind = Literal["sequence", "pooled", "seq2seq"]  # seq2seq: rnnbench.contract.seq2seq
INPUT_KINDS = ("tokens", "features")
OUTPUT_KINDS = ("sequence", "pooled")


@dataclass(frozen=True)
class ModelContext:
    """What a task tells a model builder about its inputs and the output it needs.

    input_kind:   "tokens" (then vocab_size and padding_idx are set) or "features"
                  (then feature_size is set).
    output:       "sequence" or "pooled": which field of ModelOutput the task reads.
    stateful:     True when the task feeds consecutive windows and passes `state` back.
    segment_token: for token tasks with sentence structure, the id that ends a sentence
                  (models such as memory networks may use it), else None.
    target:       for output "seq2seq", the target side (vocabulary, BOS/EOS/pad ids).
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
    target: Seq2SeqTarget | None = None
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
    embedding: dotted attribute path of the built model's input nn.Embedding (e.g.
              "encoder.embedding"), where `train.embeddings` installs pretrained vectors;
              None: the model's single nn.Embedding with vocab_size rows, if any.
    embedding_dim: the int hyperparameter that sets that embedding's size (set from
              the vectors' file); None: "embedding_dim" when the model has it.
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
    embedding: str | None = None
    embedding_dim: str | None = None
    needs: frozenset[str] = frozenset()

    def exposes_hidden(self, hparams: Mapping[str, Any]) -> bool:
        return (
            self.hidden_states(hparams)
            if callable(self.hidden_states)
            else bool(self.hidden_states)
        )

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
    #: how the test figure was computed when a convention matters for comparing it with
    #: papers ("state carried through the whole test stream, 10 streams"); shown in the
    #: leaderboard's caption. Empty: nothing to state.
    evaluation: str = ""

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

    def class_names(self) -> list[str] | None:
        """Class names in id order when the task predicts one class per sequence from
        (B, C) logits (its `loss` takes them): every such run gets a per-class report
        and a confusion matrix on test. None (the default): not a classification."""
        return None

    def codec(self) -> TokenCodec | None:
        """A generative token task's vocabulary as text (rnnbench.contract.generation), so
        that `rnnbench generate` and `samples()` can sample from its models; None: not one."""
        return None

    def samples(self, sample: Callable[..., list[int]], epoch: int | None) -> dict[str, str]:
        """Texts showing what the model writes, {file name: text}, logged as artifacts under
        samples/ after every validation epoch (epoch 1, 2, ...) and once with the best
        weights after the final evaluation (epoch None). `sample(prime_ids, length,
        temperature=1.0, top_k=0, seed=0) -> ids` draws from the model (needs `codec()`)."""
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
