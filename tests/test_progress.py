"""Progress lines: on stderr, one per validation, with the JSON result last on stdout."""

import json

from conftest import TINY

from rnnbench.training.progress import clock


def test_run_json_reports_progress_on_stderr_and_the_result_last_on_stdout(cli, tmp_path):
    code, out, err = cli("run", "--model", "gru", "--task", "adding", *TINY, "--json",
                         "--results-dir", str(tmp_path / "results"))
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["model"] == "gru"
    lines = err.strip().splitlines()
    assert lines[0].startswith("gru on adding: training ") and "up to 2 epochs" in lines[0]
    epochs = [line for line in lines if ": epoch " in line]
    assert [line.split(": epoch ")[1].split(",")[0] for line in epochs] == ["1", "2"]
    assert "val_loss" in epochs[-1] and "(best " in epochs[-1] and "elapsed 00:" in epochs[-1]


def test_clock():
    assert clock(75.4) == "01:15" and clock(3725) == "1:02:05"
