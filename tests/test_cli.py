"""CLI errors: one line, non-zero exit, nothing written."""

import pytest

ADDING = ("run", "--model", "lstm", "--task", "adding")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("run", "--model", "lstn", "--task", "adding"),
            "unknown model 'lstn' (did you mean 'lstm'?)",
        ),
        (
            ("run", "--model", "lstm", "--task", "addin"),
            "unknown task 'addin' (did you mean 'adding'?)",
        ),
        (
            (*ADDING, "--set", "model.hiden_size=3"),
            "model.hiden_size: unknown option (did you mean 'hidden_size'?)",
        ),
        ((*ADDING, "--set", "model.hidden_size=big"), "model.hidden_size: expected int, got 'big'"),
        ((*ADDING, "--set", "task.seq_len=0"), "task.seq_len: must be >= 1, got 0"),
        ((*ADDING, "--set", "task.seq_len=-5"), "task.seq_len: must be >= 1, got -5"),
        ((*ADDING, "--set", "train.lr"), "expected KEY=VALUE"),
        ((*ADDING, "--set", "hidden_size=3"), "keys start with 'model.', 'task.' or 'train.'"),
        ((*ADDING, "--set", "train.optimizer=adagrad"), "train.optimizer: 'adagrad' is not one of"),
        ((*ADDING, "--set", "train.devices=two"), "train.devices: expected a count"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, args, message):
    results = tmp_path / "results"
    code, _out, err = cli(*args, "--results-dir", str(results))
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not results.exists()


TOKENS_ONLY = """
import rnnbench
from rnnbench.nn import FusedRecurrent

def build(context):
    import torch
    return FusedRecurrent(torch.nn.GRU, context, 8, 8, 1, 0.0)

@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(name="words-only", builder=build, inputs=frozenset({"tokens"})))
"""


def test_incompatible_pair_is_rejected_before_anything_is_built(cli, tmp_path, fake_plugin):
    fake_plugin(TOKENS_ONLY)
    results = tmp_path / "results"
    code, _, err = cli(
        "run", "--model", "words-only", "--task", "adding", "--results-dir", str(results)
    )
    assert code == 2 and not results.exists()
    assert "model 'words-only' accepts tokens inputs, task 'adding' gives features" in err


def test_compatibility_reasons():
    from rnnbench import ModelSpec, TaskSpec, compatibility

    bi = ModelSpec(name="bi", builder=None, causal=lambda hp: not hp.get("bidirectional"))
    lm = TaskSpec(name="lm", factory=None, input_kind="tokens", output="sequence", causal=True)
    pooled_only = ModelSpec(name="pool", builder=None, outputs=frozenset({"pooled"}))
    assert compatibility(bi, lm, {"bidirectional": False}) is None
    assert "needs a causal model" in compatibility(bi, lm, {"bidirectional": True})
    assert "needs sequence outputs" in compatibility(pooled_only, lm)


def test_unwritable_results_dir_is_one_line(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = cli(
        *ADDING,
        "--results-dir",
        str(blocker / "results"),
        "--max-epochs",
        "1",
        "--set",
        "task.train_size=8",
    )
    assert code == 2
    assert err.strip().startswith("rnnbench: error: --results-dir")
