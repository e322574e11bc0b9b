"""`rnnbench export-embeddings --run RUN_ID OUT`: a trained run's input embeddings as a
word2vec text file, ready for `--set train.embeddings=OUT`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnbench.cli.common import folder, print_json, quiet_libraries
from rnnbench.contract.errors import ConfigError

TEXT_SUFFIXES = (".txt", ".vec")  # word2vec text, the one format written


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-embeddings", help="write a trained run's input embeddings (word2vec text)"
    )
    parser.add_argument(
        "--run",
        required=True,
        metavar="RUN_ID",
        help="the run's id (MLflow run id, its folder under RESULTS/runs)",
    )
    parser.add_argument("out", type=Path, help="output file (.txt, .vec; .gz to gzip)")
    parser.add_argument(
        "--results-dir",
        type=folder,
        default=Path("results"),
        help="the results folder the run wrote (default: results)",
    )
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI whose logged model "
        "restores the run when RESULTS/runs/RUN_ID is gone (default: "
        "$MLFLOW_TRACKING_URI, else sqlite:///RESULTS_DIR/mlflow.db if there)",
    )
    parser.add_argument("--experiment", default="rnnbench", help="MLflow experiment name")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry
    from rnnbench.training.export import export_embeddings

    suffixes = [x.lower() for x in args.out.suffixes]
    if suffixes[-1:] == [".gz"]:
        suffixes = suffixes[:-1]
    if suffixes[-1:] not in ([".txt"], [".vec"]):
        raise ConfigError(
            f"{args.out}: export-embeddings writes word2vec text; name the file "
            f"{' or '.join(TEXT_SUFFIXES)} (add .gz to gzip it)"
        )
    quiet_libraries()
    tracker, uri = store_of(args)
    done = export_embeddings(
        args.results_dir, args.run, args.out, get_registry(), tracker=tracker, where=uri
    )
    if args.json:
        print_json(
            {
                "path": str(done.path),
                "vectors": done.vectors,
                "dim": done.dim,
                "skipped": len(done.skipped),
            }
        )
        return 0
    shown = ", ".join(repr(t) for t in done.skipped[:5])
    more = f" ... ({len(done.skipped)} in all)" if len(done.skipped) > 5 else ""
    print(
        f"wrote {done.vectors:,} vectors of dimension {done.dim} to {done.path}"
        + (f" (left out: {shown}{more})" if done.skipped else ""),
        file=sys.stdout,
    )
    return 0


def store_of(args: argparse.Namespace):
    """(tracker, uri) of the tracking store, or (None, None) when there is none to read."""
    import os

    from rnnbench.tracking.mlflow_tracker import MlflowTracker
    from rnnbench.training.config import resolve_tracking_uri

    if not (
        args.tracking_uri
        or os.environ.get("MLFLOW_TRACKING_URI")
        or (args.results_dir / "mlflow.db").exists()
    ):
        return None, None
    uri = resolve_tracking_uri(args.tracking_uri, args.results_dir)
    return MlflowTracker.open_existing(uri, args.experiment), uri
