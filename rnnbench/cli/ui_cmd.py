"""`rnnbench ui`: the MLflow UI on the results store, opened on the leaderboards.

With a database store (the SQLite default in the results folder, or --tracking-uri
sqlite:// / postgresql:// ...) it starts `mlflow server` on it (127.0.0.1 unless --host),
waits until it answers, and prints one URL per leaderboard view of the newest sweep
(--sweep NAME for another) and the sweeps overview. With an http(s) tracking URI the
server is already running: it only prints the URLs. --optuna also serves
optuna-dashboard on the sweep's Optuna storage. Ctrl-C stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from rnnbench.contract.errors import ConfigError

DEFAULT_PORT = 5000
DEFAULT_OPTUNA_PORT = 8080
START_TIMEOUT = 90.0  # seconds for a server to answer its first request
OPTUNA_DASHBOARD = (
    "import sys; from optuna_dashboard._cli import main; "
    "sys.argv[0] = 'optuna-dashboard'; sys.exit(main())"
)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "ui",
        help="open the MLflow UI on the leaderboards",
        description="Start the MLflow UI on the results store and print the URL of each "
        "leaderboard of the newest sweep (zero clicks to the ranking).",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=Path("results"),
        help="results folder of the sweeps (default ./results)",
    )
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default sqlite in the results folder); an "
        "http(s) URI is a running server: only the URLs are printed",
    )
    parser.add_argument(
        "--experiment", default="rnnbench", help="MLflow experiment name (default rnnbench)"
    )
    parser.add_argument(
        "--sweep", help="the sweep whose leaderboards to print (default: the newest)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"MLflow UI port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--open",
        action="store_true",
        help="open the first leaderboard in a browser, where one exists",
    )
    parser.add_argument(
        "--optuna",
        action="store_true",
        help="also serve optuna-dashboard on the Optuna storage "
        "(extra: pip install 'rnnbench[ui]')",
    )
    parser.add_argument(
        "--storage", help="Optuna storage URL for --optuna (default sqlite in the results folder)"
    )
    parser.add_argument(
        "--optuna-port",
        type=int,
        default=DEFAULT_OPTUNA_PORT,
        help=f"optuna-dashboard port (default {DEFAULT_OPTUNA_PORT})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.training.config import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri, args.results_dir)
    is_server = uri.lower().startswith(("http://", "https://"))
    check_store(uri, args)
    storage = None
    if args.optuna:
        storage = check_optuna(args)
    if not is_server:
        check_port_free(args.host, args.port, "--port")
    tracker = open_tracker(uri, args.experiment)
    sweep = args.sweep or newest_sweep(tracker)
    base = uri if is_server else f"http://{url_host(args.host)}:{args.port}"
    urls = ui_urls(tracker, base, sweep)  # refused here, before anything starts
    if is_server and storage is None:
        print_urls(urls, base, sweep, args.open)
        return 0
    # Ctrl-C / SIGTERM raise the CLI's Interrupted (exit 130 / 143, as for every command);
    # `finally` stops every server this command started
    children: list[subprocess.Popen] = []
    try:
        if not is_server:
            children.append(start_mlflow(uri, args, base))
        if storage is not None:
            dashboard = f"http://{url_host(args.host)}:{args.optuna_port}"
            children.append(
                start_child(
                    [
                        sys.executable,
                        "-c",
                        OPTUNA_DASHBOARD,
                        storage,
                        "--host",
                        args.host,
                        "--port",
                        str(args.optuna_port),
                        "--quiet",
                    ],
                    dashboard,
                    "optuna-dashboard",
                )
            )
        print_urls(urls, base, sweep, args.open)
        if storage is not None:
            print(f"  optuna-dashboard: {dashboard}")
        print("Ctrl-C stops " + ("them" if len(children) > 1 else "it"), flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        stopped = next(c for c in children if c.poll() is not None)
        print(
            f"rnnbench: error: {getattr(stopped, 'label', 'a server')} stopped "
            f"(exit {stopped.returncode})",
            file=sys.stderr,
        )
        return 1
    finally:
        stop_all(children)


def check_store(uri: str, args: argparse.Namespace) -> None:
    """A missing SQLite store or an unreachable server: one line, before anything starts."""
    from rnnbench.tracking.mlflow_tracker import check_tracking_uri

    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.is_file():
            where = "--tracking-uri" if args.tracking_uri else "--results-dir"
            raise ConfigError(
                f"{where}: no MLflow store at {path} (run `rnnbench sweep` "
                "first, or pass --results-dir / --tracking-uri)"
            )
    check_tracking_uri(uri)


def check_optuna(args: argparse.Namespace) -> str:
    """The Optuna storage URL for --optuna; ConfigError without the extra or the store."""
    try:
        import optuna_dashboard  # noqa: F401
    except ImportError:
        raise ConfigError("--optuna needs optuna-dashboard: pip install 'rnnbench[ui]'") from None
    if args.storage:
        return args.storage
    path = Path(args.results_dir) / "optuna.db"
    if not path.is_file():
        raise ConfigError(f"--optuna: no Optuna storage at {path} (pass --storage URL)")
    check_port_free(args.host, args.optuna_port, "--optuna-port")
    return f"sqlite:///{path.resolve().as_posix()}"


def check_port_free(host: str, port: int, flag: str) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as servers bind: a port left in TIME_WAIT by a stopped server counts as free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"{flag} {port}: cannot listen on {host}:{port} "
                f"({exc.strerror or exc}); pass another {flag}"
            ) from None


def open_tracker(uri: str, experiment: str):
    from rnnbench.tracking.mlflow_tracker import MlflowTracker

    return MlflowTracker.open_existing(uri, experiment)


def newest_sweep(tracker) -> str | None:
    from rnnbench.tracking import schema
    from rnnbench.tracking.leaderboard import sweep_runs

    parents = sweep_runs(tracker)
    return schema.SWEEP.read(parents[0].tags) if parents else None


def url_host(host: str) -> str:
    """The host to put in a URL: a wildcard bind address is reached on 127.0.0.1."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def ui_urls(tracker, base: str, sweep: str | None) -> list[tuple[str, str]]:
    """(label, URL) of each leaderboard view of `sweep`, then of the sweeps overview."""
    from rnnbench.tracking.views import SWEEPS_VIEW_KEY, sweep_view_keys, view_url

    if sweep is None:
        return []
    found = sweep_view_keys(tracker, sweep)
    if not found:
        raise ConfigError(
            f"--sweep {sweep}: no leaderboard views in this store (sweeps "
            "write them from rnnbench 0.2 on; re-run the sweep to add them)"
        )
    out = [
        (name.removeprefix(f"{sweep} · "), view_url(base, tracker.experiment_id, key))
        for key, name in found
    ]
    out.append(("sweeps", view_url(base, tracker.experiment_id, SWEEPS_VIEW_KEY)))
    return out


def print_urls(
    urls: list[tuple[str, str]], base: str, sweep: str | None, open_browser: bool
) -> None:
    print(f"MLflow UI: {base}" + (f" (sweep {sweep!r})" if sweep else " (no sweep yet)"))
    for label, url in urls:
        print(f"  {label}: {url}")
    sys.stdout.flush()
    if open_browser and urls:
        import webbrowser

        try:
            webbrowser.get().open(urls[0][1])
        except webbrowser.Error:
            print("--open: no browser found on this machine; open the URL above yourself")


def start_mlflow(uri: str, args: argparse.Namespace, base: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--workers",
        "1",
    ]
    return start_child(command, base, "mlflow server")


def start_child(command: list[str], url: str, label: str) -> subprocess.Popen:
    """Start a server process (its own process group, output to a temporary log) and
    wait until `url` answers; ConfigError with its last log line when it exits first."""
    import tempfile

    log = tempfile.TemporaryFile(mode="w+")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    child.log, child.label = log, label  # type: ignore[attr-defined]
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            log.seek(0)
            lines = [line.strip() for line in log.read().splitlines() if line.strip()]
            raise ConfigError(f"{label} did not start: {lines[-1] if lines else 'no output'}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return child
        except urllib.error.HTTPError:
            return child
        except OSError:
            time.sleep(0.3)
    stop_all([child])
    raise ConfigError(f"{label} did not answer on {url} within {START_TIMEOUT:.0f} s")


def stop_all(children: list[subprocess.Popen]) -> None:
    """Terminate each child's process group (uvicorn/gunicorn workers included); kill
    what is left after 10 s."""
    import signal

    for child in children:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
