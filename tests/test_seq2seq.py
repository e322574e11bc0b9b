"""The seq2seq (N-vs-M) contract: decoding, metrics, the built-in encoder-decoder
models under the contract checks, the synthetic tasks, and runs and sweeps end to end."""

from __future__ import annotations

import json

import pytest
import torch

from rnnbench.contract.registry import get_registry
from rnnbench.contract.seq2seq import Seq2SeqTarget, decoder_inputs, sequence_lengths
from rnnbench.taskkit import ExactMatch, TokenAccuracy, sequence_scores
from rnnbench.testing import ContractError, check_model_spec

SPEC = Seq2SeqTarget(vocab_size=6, bos_id=4, eos_id=5, padding_idx=0, max_length=5)
S2S_TINY = [
    "--set",
    "task.train_size=128",
    "--set",
    "task.val_size=32",
    "--set",
    "task.test_size=32",
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "1",
    "--set",
    "task.seq_len=4",
]


def test_decoder_inputs_shift_the_target_right_behind_bos():
    target = torch.tensor([[1, 2, 5, 0], [3, 5, 0, 0]])
    got = decoder_inputs(target, torch.tensor([3, 2]), SPEC)
    assert got.tolist() == [[4, 1, 2, 0], [4, 3, 0, 0]]


def test_sequence_lengths_count_up_to_the_first_eos():
    tokens = torch.tensor([[1, 5, 2, 5], [1, 2, 3, 1], [5, 0, 0, 0]])
    assert sequence_lengths(tokens, 5).tolist() == [2, 4, 1]


def test_exact_match_and_token_accuracy_against_hand_computed_values():
    target = torch.tensor([[1, 2, 3, 5], [2, 2, 5, 0]])
    hyp = torch.tensor([[1, 2, 3, 5, 0], [2, 3, 5, 1, 1]])  # ids after EOS do not count
    exact, correct, total = sequence_scores(hyp, target, eos_id=5, pad=0)
    assert exact.tolist() == [True, False] and correct.tolist() == [4, 2]  # 2 _ EOS
    assert total.tolist() == [4, 3]
    em, acc = ExactMatch(5, 0), TokenAccuracy(5, 0)
    em.update(hyp, target)
    acc.update(hyp, target)
    assert float(em.compute()) == 0.5 and float(acc.compute()) == pytest.approx(6 / 7)
    short = torch.tensor([[1, 2, 5]])  # stops too early: not exact
    assert not bool(sequence_scores(short, target[:1], 5, 0)[0][0])


def _models():
    import rnnbench_models.seq2seq as m

    return m


@pytest.mark.parametrize(
    "hp",
    [
        {"cell": "gru", "attention": "none", "context": "init"},
        {"cell": "lstm", "attention": "bahdanau", "context": "input", "bidirectional": True},
        {"cell": "rnn", "attention": "luong", "context": "init", "num_layers": 2},
        {"cell": "lstm", "attention": "luong", "context": "input"},
    ],
    ids=lambda hp: "-".join(str(v) for v in hp.values()),
)
def test_built_in_encoder_decoder_passes_the_contract_checks(hp):
    m = _models()
    check_model_spec(m.SEQ2SEQ, {"hidden_size": 8, "embedding_dim": 4, **hp})


def test_contract_check_catches_a_decoder_that_peeks_at_future_targets():
    import dataclasses

    m = _models()

    class Peeking(m.EncoderDecoder):
        def forward(self, inputs, lengths, state=None, *, decoder_inputs, decoder_lengths):
            out = super().forward(
                inputs,
                lengths,
                decoder_inputs=decoder_inputs.flip(1),
                decoder_lengths=decoder_lengths,
            )
            return out

    def build(context, /, **hp):
        model = m.build_seq2seq(context, **hp)
        model.__class__ = Peeking
        return model

    spec = dataclasses.replace(m.SEQ2SEQ, builder=build)
    with pytest.raises(ContractError, match=r"padding|peeks"):
        check_model_spec(spec, {"hidden_size": 8, "embedding_dim": 4})


def test_contract_check_catches_decode_step_that_disagrees_with_teacher_forcing():
    import dataclasses

    m = _models()

    def build(context, /, **hp):
        model = m.build_seq2seq(context, **hp)
        step = model.decode_step
        model.decode_step = lambda tokens, state: (lambda o, s: (o * 2, s))(*step(tokens, state))
        return model

    spec = dataclasses.replace(m.SEQ2SEQ, builder=build)
    with pytest.raises(ContractError, match="decode_step disagrees"):
        check_model_spec(spec, {"hidden_size": 8, "embedding_dim": 4})


def test_addition_writes_sums_as_digits_and_copying_is_the_baseline():
    spec = get_registry().task("addition")
    task = spec.factory(
        spec.options.resolve(
            {"seq_len": 3, "train_size": 8, "val_size": 8, "test_size": 50}, "task"
        ),
        8,
        0,
    )
    task.prepare()
    test = task.splits[2].tensors
    text = "0123456789+"
    for row, n, y, u in zip(
        test["inputs"].tolist(),
        test["lengths"].tolist(),
        test["target"].tolist(),
        test["target_lengths"].tolist(),
        strict=True,
    ):
        a, b = "".join(text[i - 1] for i in row[:n]).split("+")
        assert "".join(text[i - 1] for i in y[: u - 1]) == str(int(a) + int(b))
        assert y[u - 1] == task.eos
    assert task.baseline() < 0.1  # the longer operand is rarely the sum


def test_reverse_baseline_is_copying_the_input():
    spec = get_registry().task("reverse")
    task = spec.factory(
        spec.options.resolve(
            {"seq_len": 2, "symbols": 2, "train_size": 8, "val_size": 8, "test_size": 400}, "task"
        ),
        8,
        0,
    )
    task.prepare()
    # a copy of a 2-symbol source from {1, 2} is its reverse iff both symbols agree: 1/2
    assert task.baseline() == pytest.approx(0.5, abs=0.08)


def test_seq2seq_pairs_with_other_kinds_are_refused(cli):
    code, _, err = cli("run", "--model", "lstm", "--task", "reverse", "--no-track")
    assert code == 2 and "needs seq2seq outputs" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("run", "--model", "seq2seq", "--task", "copy", "--no-track")
    assert code == 2 and "gives only seq2seq" in err


@pytest.mark.slow
@pytest.mark.parametrize("model,beam", [("seq2seq", "1"), ("seq2seq-attn", "3")])
def test_run_trains_teacher_forced_and_scores_decoding(cli, model, beam, tmp_path):
    code, out, err = cli(
        "run",
        "--model",
        model,
        "--task",
        "reverse",
        *S2S_TINY,
        "--set",
        f"task.beam={beam}",
        "--no-track",
        "--json",
        "--results-dir",
        str(tmp_path),
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    for key in ("val_loss", "test_exact", "test_token_acc"):
        assert key in result["metrics"]
    assert 0.0 <= result["metrics"]["test_token_acc"] <= 1.0
    assert result["baseline"] is not None and result["solved"] is False


def test_bad_seq2seq_options_are_one_line_errors(cli):
    for option, word in (
        ("model.attention=dot", "model.attention"),
        ("model.context=both", "model.context"),
        ("task.beam=0", "task.beam"),
        ("model.cell=tree", "model.cell"),
    ):
        code, _, err = cli(
            "run", "--model", "seq2seq", "--task", "reverse", "--set", option, "--no-track"
        )
        assert code == 2 and word in err and len(err.strip().splitlines()) == 1, err


SWEEP = """\
name: s2s
models: [seq2seq, seq2seq-attn, gru]
tasks: [reverse]
n_trials: 1
seeds: 1
pruner: none
train: {max_epochs: 1, patience: 5}
task_options:
  reverse: {seq_len: 3, train_size: 64, val_size: 32, test_size: 32}
model_params:
  seq2seq: {hidden_size: 8, embedding_dim: 4, num_layers: 1, dropout: 0.0}
  seq2seq-attn: {hidden_size: 8, embedding_dim: 4, num_layers: 1, dropout: 0.0}
"""


def test_a_sweep_searches_and_ranks_seq2seq_pairs_like_any_other(cli, tmp_path):
    import csv

    results = tmp_path / "results"
    config = tmp_path / "s2s.yaml"
    config.write_text(SWEEP)
    code, out, err = cli("sweep", "--config", str(config), "--results-dir", str(results), "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert {p["model"] for p in summary["pairs"]} == {"seq2seq", "seq2seq-attn"}  # gru: no
    rows = list(csv.DictReader((results / "sweeps" / "s2s" / "leaderboard.csv").open()))
    assert {r["model"] for r in rows} == {"seq2seq", "seq2seq-attn"}
    for row in rows:
        assert row["metric"] == "test_exact" and row["seeds"] == "1"
        assert 0.0 <= float(row["mean"]) <= 1.0 and row["baseline"] != ""
        assert json.loads(row["hparams"])["model.hidden_size"] == "8"
        searched = json.loads(row["hparams"])
        assert searched["model.cell"] in ("rnn", "lstm", "gru")
        assert searched["model.context"] in ("init", "input")


def test_horizon_takes_the_synthetic_seq2seq_tasks():
    from rnnbench.sweep.horizon import check_task

    for name in ("reverse", "sort", "addition"):
        spec = check_task(get_registry(), name)  # a length option and a solved criterion
        assert spec.length_option == "seq_len"
        assert spec.solved({"exact": 0.95}) and not spec.solved({"exact": 0.5})


HALF_SEQ2SEQ = """
import torch
import rnnbench

class Half(torch.nn.Module):
    def __init__(self, context):
        super().__init__()
        self.embed = torch.nn.Embedding(context.target.vocab_size, 4)
        self.output_size = 4
    def forward(self, inputs, lengths, state=None, *, decoder_inputs, decoder_lengths):
        return rnnbench.ModelOutput(sequence=self.embed(decoder_inputs))
    def encode(self, inputs, lengths):
        return None

@rnnbench.hookimpl
def register_models(register):
    register(rnnbench.ModelSpec(name="half-seq2seq", builder=Half,
                                outputs=frozenset({"seq2seq"})))
"""


def test_a_model_missing_decoding_methods_is_refused_before_training(cli, fake_plugin, tmp_path):
    fake_plugin(HALF_SEQ2SEQ, dist="half-seq2seq")
    code, _, err = cli(
        "run",
        "--model",
        "half-seq2seq",
        "--task",
        "reverse",
        "--results-dir",
        str(tmp_path),
        "--set",
        "task.train_size=32",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "half-seq2seq" in err and "decode_step, select_state" in err
    assert not (tmp_path / "mlflow.db").exists()
