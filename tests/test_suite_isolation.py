"""The suite keeps its caches in its own temporary folder (tests/conftest.py), never in ~."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import CACHE_ROOT

# Prepares a text-classification and a language-modelling task from small local files
# (loading through `datasets`, filling the prepared-data cache) and draws a chart.
PREPARE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from rnnbench.contract.registry import get_registry

    data = Path(sys.argv[1])
    for task, options in (("text-classification", {"dataset": str(data / "tc.tsv")}),
                          ("language-modelling", {"dataset": str(data / "lm.txt"), "bptt": "4",
                                                  "eval_batch_size": "2"})):
        spec = get_registry().task(task)
        spec.factory(spec.options.resolve(options, "task"), batch_size=2, seed=0).prepare()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.bar([0, 1], [1, 2])
    plt.savefig(data / "chart.png")
""")


def test_cache_variables_point_into_the_suite_folder():
    from rnnbench.data.cache import PreparedCache

    assert not CACHE_ROOT.is_relative_to(Path.home())
    for name in ("HF_HOME", "HF_DATASETS_CACHE", "XDG_CACHE_HOME", "MPLCONFIGDIR"):
        assert Path(os.environ[name]).is_relative_to(CACHE_ROOT), name
    assert PreparedCache("text-classification").folder.is_relative_to(CACHE_ROOT)


@pytest.mark.slow
def test_loading_text_data_writes_nothing_under_home(tmp_path):
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    rows = "".join(f"{'good fun' if i % 2 else 'dull plot'} {i}\t{i % 2}\n" for i in range(20))
    (data / "tc.tsv").write_text("sentence\tlabel\n" + rows)
    (data / "lm.txt").write_text("to be or not to be\n" * 20)
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", PREPARE, str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (data / "chart.png").exists()
    assert sorted(p.name for p in home.rglob("*")) == []
    prepared = CACHE_ROOT / "huggingface" / "datasets" / "rnnbench"
    assert {p.name for p in prepared.iterdir()} >= {"text-classification", "language-modelling"}
