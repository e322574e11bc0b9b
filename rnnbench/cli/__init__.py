"""The `rnnbench` command line. Each subcommand lives in its own module with
`add_parser(subparsers)` and `run(args) -> int`; heavy libraries load only inside
the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from rnnbench.contract.errors import Interrupted, RnnbenchError

COMMANDS = (
    "list_cmd",
    "describe_cmd",
    "run_cmd",
    "sweep_cmd",
    "leaderboard_cmd",
    "horizon_cmd",
    "generate_cmd",
    "export_cmd",
    "ui_cmd",
)

# where the first line of a crash sends its reader
BUG_REPORTS = "the issue tracker of the rnnbench repository you installed it from"


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line and a pointer to --help (instead of the
    usage dump); subcommand parsers are made of this class too."""

    def error(self, message: str) -> NoReturn:
        print(f"rnnbench: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    from rnnbench import __version__

    parser = Parser(prog="rnnbench", description="Benchmark recurrent neural networks fairly.")
    parser.add_argument("--version", action="version", version=f"rnnbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        import_module(f"rnnbench.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rnnbench.cli import signals
    from rnnbench.training.distributed import is_worker

    if is_worker():  # a rank re-launched by Lightning's DDP: train, track nothing
        from rnnbench.training.interrupts import rank_default_actions
        from rnnbench.training.worker import run_worker

        # SIGINT/SIGTERM end a rank at once (even inside a collective): rank 0 owns the
        # MLflow run, forwards the signal and reports it
        rank_default_actions()
        return run_worker()
    with signals.handled():
        try:
            parser = build_parser()
            argv = list(sys.argv[1:] if argv is None else argv)
            args = parser.parse_args(argv)
            args.argv = argv
            return int(args.handler(args) or 0)
        except RnnbenchError as exc:
            print(f"rnnbench: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except (Interrupted, KeyboardInterrupt) as exc:
            signals.close_open_runs()
            return signals.report(exc if isinstance(exc, Interrupted) else Interrupted(2))
        except Exception:  # not a user's mistake (those are RnnbenchErrors): a bug
            import traceback

            if signals.received() is not None:  # raised because of the signal (DDP peers)
                signals.close_open_runs()
                return signals.report(Interrupted(int(signals.received() or 0)))
            signals.close_open_runs("FAILED", "crashed (a bug: see the traceback on stderr)")
            print(
                f"rnnbench: internal error: this is a bug, not a mistake of yours; please "
                f"report it with the traceback below to {BUG_REPORTS}",
                file=sys.stderr,
            )
            traceback.print_exc()
            return 1


if __name__ == "__main__":
    sys.exit(main())
