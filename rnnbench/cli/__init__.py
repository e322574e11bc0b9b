"""The `rnnbench` command line. Each subcommand lives in its own module with
`add_parser(subparsers)` and `run(args) -> int`; heavy libraries load only inside
the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rnnbench.contract.errors import RnnbenchError

COMMANDS = ("list_cmd", "describe_cmd", "run_cmd", "sweep_cmd", "leaderboard_cmd", "horizon_cmd",
            "generate_cmd", "export_cmd", "ui_cmd")


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from rnnbench import __version__

    parser = argparse.ArgumentParser(
        prog="rnnbench", description="Benchmark recurrent neural networks fairly.")
    parser.add_argument("--version", action="version", version=f"rnnbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        import_module(f"rnnbench.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rnnbench.training.distributed import is_worker

    if is_worker():  # a rank re-launched by Lightning's DDP: train, track nothing
        from rnnbench.training.worker import run_worker

        return run_worker()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return int(args.handler(args) or 0)
    except RnnbenchError as exc:
        print(f"rnnbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rnnbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
