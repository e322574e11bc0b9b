"""`rnnbench ui` in a real browser: a small real sweep, the UI started as a user starts it,
every printed URL loaded in headless Chromium (Debian's chromium + chromium-driver, driven
by Selenium with an explicit chromedriver so that nothing is downloaded). The leaderboard
page must show the models in leaderboard order with their mean metric, with no click.

Without the browser the test skips, except under CI (CI=true), where it fails.
Screenshots go to $RNNBENCH_SCREENSHOTS when set (docs/guide/ui.md describes them).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
)

SWEEP = """\
name: browser
tasks: [adding]
n_trials: 1
seeds: 2
pruner: none
train: {max_epochs: 2, patience: 5}
task_options:
  adding: {seq_len: 6, train_size: 64, val_size: 32, test_size: 32}
model_params:
  rnn: {hidden_size: 4, num_layers: 1, dropout: 0.0}
  lstm: {hidden_size: 4, num_layers: 1, variant: vanilla, dropout: 0.0}
  gru: {hidden_size: 4, num_layers: 1, dropout: 0.0}
"""

# Every grid row by its index: the cells of the pinned (name) and scrolled columns joined.
GRID_ROWS = """
const rows = {};
for (const row of document.querySelectorAll('.ag-root [role=row][row-index]')) {
  const index = Number(row.getAttribute('row-index'));
  rows[index] = rows[index] || {};
  for (const cell of row.querySelectorAll('[col-id]'))
    rows[index][cell.getAttribute('col-id')] = cell.innerText;
}
return Object.keys(rows).sort((a, b) => a - b).map(k => rows[k]);
"""


def browser():
    """A headless Chromium (fresh profile), or skip (fail under CI) when it is missing."""
    problem = None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        problem = "selenium is not installed (pip install -e '.[test]')"
    if problem is None and not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        problem = f"{CHROMIUM} / {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='rnnbench-ui-')}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_ui(*args: str, cwd: Path) -> tuple[subprocess.Popen, list[str]]:
    """`rnnbench ui ARGS` as a process; its printed lines up to 'Ctrl-C stops'."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnbench", "ui", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(timeout=180)
    assert process.poll() is None and lines and lines[-1].startswith("Ctrl-C"), lines
    return process, lines


def wait_for_rows(driver, count: int, timeout: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = driver.execute_script(GRID_ROWS)
        if len(rows) >= count and all(any(v.strip() for v in r.values()) for r in rows):
            time.sleep(1.0)  # let the last cells render
            return driver.execute_script(GRID_ROWS)
        time.sleep(0.5)
    raise AssertionError(f"{count} rows expected, the page shows {rows}")


def number(text: str) -> float:
    found = re.match(r"\s*(-?[0-9.eE+-]+)", text)
    assert found, text
    return float(found.group(1))


@pytest.mark.slow
def test_rnnbench_ui_opens_every_leaderboard_ranked_with_zero_clicks(cli, tmp_path):
    results = tmp_path / "results"
    (tmp_path / "sweep.yaml").write_text(textwrap.dedent(SWEEP))
    code, out, err = cli(
        "sweep",
        "--config",
        str(tmp_path / "sweep.yaml"),
        "--models",
        "rnn,lstm,gru",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    board = json.loads(out.strip().splitlines()[-1])["leaderboard"]
    expected = [(r["model"], r["mean"]) for r in board]  # one task: already ranked
    shots = Path(os.environ.get("RNNBENCH_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)

    driver = browser()
    port, optuna_port = free_port(), free_port()
    process, lines = start_ui(
        "--results-dir",
        str(results),
        "--port",
        str(port),
        "--optuna",
        "--optuna-port",
        str(optuna_port),
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert lines[0] == f"MLflow UI: {base} (sweep 'browser')"
        urls = dict(line.strip().split(": ", 1) for line in lines[1:-1])
        assert list(urls) == ["adding leaderboard", "sweeps", "optuna-dashboard"]
        dashboard = urls.pop("optuna-dashboard")
        assert dashboard == f"http://127.0.0.1:{optuna_port}"
        assert all(
            u.startswith(f"{base}/#/experiments/") and "viewStateShareKey=" in u
            for u in urls.values()
        )

        # optuna-dashboard (the `ui` extra) on the sweep's Optuna storage: its studies
        with urllib.request.urlopen(f"{dashboard}/api/studies", timeout=30) as answer:
            studies = {s["study_name"] for s in json.load(answer)["study_summaries"]}
        assert studies == {f"browser:adding:{model}" for model, _ in expected}, studies
        driver.get(dashboard)
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and "browser:adding:lstm" not in driver.find_element("tag name", "body").text
        ):
            time.sleep(0.5)
        driver.save_screenshot(str(shots / "optuna-dashboard.png"))
        assert "browser:adding:lstm" in driver.find_element("tag name", "body").text

        driver.get(base)
        time.sleep(8)
        driver.save_screenshot(str(shots / "landing.png"))

        driver.get(urls["adding leaderboard"])
        rows = wait_for_rows(driver, len(expected))
        driver.save_screenshot(str(shots / "leaderboard.png"))
        shown = []
        for row in rows:
            name = next((v for v in row.values() if "Group: " in v), None)
            assert name is not None, rows
            model = re.search(r"Group: (\S+)", name).group(1)
            shown.append((model, number(row["metrics.`test_mse`"])))
        assert [m for m, _ in shown] == [m for m, _ in expected], (shown, expected)
        for (model, value), (_, mean) in zip(shown, expected, strict=True):
            assert value == pytest.approx(mean, rel=1e-9), model
        assert all("(average)" in row["metrics.`test_mse`"] for row in rows)

        driver.get(urls["sweeps"])
        rows = wait_for_rows(driver, 1)
        driver.save_screenshot(str(shots / "sweeps.png"))
        assert len(rows) == 1
        for model, mean in expected:
            assert number(rows[0][f"metrics.`adding.{model}.test_mse`"]) == pytest.approx(
                mean, rel=1e-9
            )

        models_tab = urls["sweeps"].split("/runs?")[0] + "/models?workflowType=machine_learning"
        driver.get(models_tab)
        names = [f"adding-{model}-seed{seed}" for model, _ in expected for seed in (0, 1)]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(
            n in driver.find_element("tag name", "body").text for n in names
        ):
            time.sleep(0.5)
        driver.save_screenshot(str(shots / "models.png"))
        body = driver.find_element("tag name", "body").text
        assert all(n in body for n in names), body  # every final seed's logged model
    finally:
        driver.quit()
        process.send_signal(signal.SIGINT)  # Ctrl-C stops the server it started
        assert process.wait(timeout=30) == 130  # interrupted, as every command
    for stopped in (port, optuna_port):  # both servers are gone: nothing listens on their ports
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", stopped))


def test_rnnbench_ui_refuses_in_one_line(cli, tmp_path, monkeypatch):
    code, _out, err = cli("ui", "--results-dir", str(tmp_path / "nothing"))
    assert code == 2 and err.count("\n") == 1
    assert "no MLflow store at" in err and "nothing" in err
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "mlflow.db").write_bytes(b"")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _out, err = cli("ui", "--results-dir", str(tmp_path / "r"), "--port", str(port))
    assert code == 2 and err.count("\n") == 1 and f"--port {port}" in err, err
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # the extra not installed
    code, _out, err = cli("ui", "--results-dir", str(tmp_path / "r"), "--optuna")
    assert code == 2 and err.count("\n") == 1 and "pip install 'rnnbench[ui]'" in err, err
