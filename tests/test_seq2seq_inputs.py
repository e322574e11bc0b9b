"""Every bad input of the seq2seq models and tasks is one line on stderr, exit 2, and
nothing written: each case names the option (or file and line) that is wrong."""

from __future__ import annotations

import pytest

PAIRS = "".join(f"w{i} w{i + 1}\tv{i + 1} v{i}\n" for i in range(20))


@pytest.mark.parametrize(
    ("task", "options", "message"),
    [
        ("reverse", ["task.seq_len=0"], "task.seq_len: must be >= 1"),
        ("reverse", ["task.seq_len=4", "task.min_len=5"], "task.min_len: must be <= task.seq_len"),
        ("sort", ["task.symbols=1"], "task.symbols: must be >= 2"),
        ("addition", ["task.beam=0"], "task.beam: must be >= 1"),
        ("addition", ["task.seq_len=0"], "task.seq_len: must be >= 1"),
        ("parallel-text", [], "give a TSV file or folder (task.dataset)"),
        ("parallel-text", ["task.source_file={tsv}"], "give a TSV file or folder (task.dataset)"),
        ("parallel-text", ["task.dataset={tsv}", "task.target_file={tsv}"], "not both"),
        (
            "parallel-text",
            ["task.dataset={tsv}", "task.valid_fraction=0.5", "task.test_fraction=0.5"],
            "task.valid_fraction + task.test_fraction",
        ),
        (
            "parallel-text",
            ["task.dataset={tsv}", "task.max_length=1"],
            "task.max_length=1: no training pair is that short",
        ),
        ("parallel-text", ["task.dataset={tsv}", "task.level=byte"], "task.level"),
        ("parallel-text", ["task.dataset={missing}"], "missing.tsv"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_seq2seq_inputs_are_one_line_errors(cli, tmp_path, task, options, message):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text(PAIRS)
    args = []
    for option in options:
        args += ["--set", option.format(tsv=tsv, missing=tmp_path / "missing.tsv")]
    results = tmp_path / "results"
    code, _, err = cli(
        "run", "--model", "seq2seq", "--task", task, *args, "--results-dir", str(results)
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (results / "mlflow.db").exists()
