"""`rnnbench generate`: sample text from a trained language-modelling run's best checkpoint,
streamed to stdout token by token."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnbench.cli.common import folder
from rnnbench.contract.errors import ConfigError
from rnnbench.contract.specs import Task, TaskSpec


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "generate", help="sample text from a trained language model (a run's best checkpoint)"
    )
    parser.add_argument(
        "--run",
        required=True,
        metavar="RUN_ID",
        help="MLflow run id of a language-modelling run (`rnnbench run` prints it)",
    )
    parser.add_argument(
        "--prime",
        default=None,
        help="text the model reads before sampling (default: the first line "
        "of the run's training text)",
    )
    parser.add_argument("--length", type=int, default=500, help="tokens to draw (default 500)")
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="divides the logits: < 1 sharper, > 1 flatter (default 1.0)",
    )
    parser.add_argument(
        "--top-k",
        type=int,
        default=None,
        help="draw only among the k most likely tokens (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument(
        "--results-dir",
        type=folder,
        default=Path("results"),
        help="results folder the run wrote to (its runs/RUN_ID/checkpoints "
        "and, without --tracking-uri, its mlflow.db; default ./results)",
    )
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: "
        "$MLFLOW_TRACKING_URI, else sqlite:///RESULTS_DIR/mlflow.db)",
    )
    parser.add_argument("--experiment", default="rnnbench", help="MLflow experiment name")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    from rnnbench.training.sampling import check_sampling

    check_sampling(args.length, args.temperature, args.top_k)
    if (
        not args.tracking_uri
        and not os.environ.get("MLFLOW_TRACKING_URI")
        and not (args.results_dir / "mlflow.db").exists()
    ):
        raise ConfigError(
            f"--results-dir {args.results_dir}: no mlflow.db there (train with "
            "`rnnbench run` first, or pass --tracking-uri)"
        )
    from rnnbench.cli.common import quiet_libraries
    from rnnbench.contract.registry import get_registry
    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.config import resolve_tracking_uri
    from rnnbench.training.restore import restore_run
    from rnnbench.training.sampling import Sampler

    quiet_libraries()
    uri = resolve_tracking_uri(args.tracking_uri, args.results_dir)
    tracker = MlflowTracker.open_existing(uri, args.experiment)

    def generative(model_spec, task_spec) -> None:
        if not declares_codec(task_spec):
            raise ConfigError(_not_generative(args.run, task_spec.name))

    restored = restore_run(
        args.results_dir, args.run, get_registry(), tracker=tracker, where=uri, check=generative
    )
    system = restored.prepared.system
    codec = restored.prepared.task.codec()
    if codec is None:
        raise ConfigError(_not_generative(args.run, restored.prepared.config.task))
    sampler = Sampler(system.model, system.head, codec, stateful=system.stateful)
    prime = codec.prime if args.prime is None else args.prime
    ids = codec.encode(prime, "--prime")
    draws = sampler.stream(ids, args.length, args.temperature, args.top_k or 0, args.seed)
    out = sys.stdout
    out.write(prime)
    for piece in codec.pieces(draws, at_line_start=prime == "" or prime.endswith("\n")):
        out.write(piece)
        out.flush()
    out.write("\n")
    return 0


def declares_codec(spec: TaskSpec) -> bool:
    """Whether the task can be generative: its Task class overrides Task.codec (a factory
    that is not a class is given the benefit of the doubt until it is built)."""
    factory = spec.factory
    return not isinstance(factory, type) or getattr(factory, "codec", None) is not Task.codec


def _not_generative(run_id: str, task: str) -> str:
    return (
        f"--run {run_id}: a run of task {task!r}, which is not a language model (its "
        "task gives no TokenCodec: Task.codec())"
    )
