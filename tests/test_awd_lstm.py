"""AWD-LSTM's regularisers (rnnbench.nn.regularisers, plugins/awd_lstm.py) against their
invariants and hand computations, and tied embeddings (rnnbench.training.tying)."""

import pytest
import torch
from torch import nn

from rnnbench import ModelContext
from rnnbench.contract.errors import ConfigError
from rnnbench.contract.registry import get_registry
from rnnbench.nn import (
    LockedDropout,
    WeightDrop,
    activation_regularisation,
    embedded_dropout,
)
from rnnbench.training.config import build_run_config
from rnnbench.training.runner import prepare

CONTEXT = ModelContext(
    input_kind="tokens", output="sequence", vocab_size=30, padding_idx=0, stateful=True
)


def test_locked_dropout_mask_is_the_same_at_every_time_step():
    torch.manual_seed(0)
    drop = LockedDropout(0.5).train()
    out = drop(torch.ones(4, 9, 16))  # (B, T, D)
    assert torch.equal(out, out[:, :1].expand_as(out))  # step t == step 0, for every t
    assert set(out.unique().tolist()) == {0.0, 2.0}  # kept units scaled by 1 / (1 - p)
    assert not torch.equal(out[0], out[1])  # one mask per sequence
    assert torch.equal(drop.eval()(torch.ones(4, 9, 16)), torch.ones(4, 9, 16))


def test_embedding_dropout_drops_whole_words():
    torch.manual_seed(0)
    embedding = nn.Embedding(50, 6)
    words = torch.randint(0, 50, (8, 12))
    out = embedded_dropout(embedding, words, 0.5, training=True)  # (8, 12, 6)
    zero = (out == 0).all(-1)  # (8, 12): positions whose whole vector was dropped
    for word in words.unique():
        at = words == word
        # a word is dropped everywhere in the batch or nowhere; kept rows are scaled by 2
        assert zero[at].all() or not zero[at].any()
        if not zero[at].any():
            assert torch.allclose(
                out[at], 2 * embedding.weight[word].detach().expand(int(at.sum()), 6)
            )
    assert zero.any() and not zero.all()
    assert torch.equal(embedded_dropout(embedding, words, 0.5, training=False), embedding(words))


def test_weight_drop_keeps_the_eval_forward_and_resamples_in_training():
    torch.manual_seed(0)
    plain = nn.LSTM(5, 7, batch_first=True)
    dropped = WeightDrop(nn.LSTM(5, 7, batch_first=True), 0.5)
    dropped.rnn.load_state_dict(
        {k: v for k, v in plain.state_dict().items() if k != "weight_hh_l0"}, strict=False
    )
    with torch.no_grad():
        dropped.weight_hh_raw.copy_(plain.weight_hh_l0)
    x = torch.randn(3, 6, 5)
    dropped.eval()
    assert torch.equal(dropped(x)[0], plain(x)[0])  # eval: the raw weight, unchanged
    dropped.train()
    first, second = dropped(x)[0], dropped(x)[0]
    assert not torch.equal(first, plain(x)[0]) and not torch.equal(first, second)
    used = dropped.rnn.weight_hh_l0  # the last mask: zeros, the rest scaled by 2
    raw = dropped.weight_hh_raw.detach()
    assert torch.allclose(used[used != 0], 2 * raw[used != 0])
    second.sum().backward()
    assert dropped.weight_hh_raw.grad is not None  # the raw weight is what trains
    assert "weight_hh_raw" in dict(dropped.named_parameters())
    assert "rnn.weight_hh_l0" not in dropped.state_dict()


def test_ar_tar_against_a_hand_computation():
    raw = torch.tensor([[[1.0, 2.0], [3.0, 0.0], [3.0, 4.0]]])  # (1, 3, 2)
    dropped = torch.tensor([[[2.0, 0.0], [6.0, 0.0], [0.0, 8.0]]])
    ar = (4 + 0 + 36 + 0 + 0 + 64) / 6
    tar = ((2**2 + 2**2) + (0 + 4**2)) / 4  # changes (2, -2) and (0, 4)
    got = activation_regularisation(dropped, raw, ar=2.0, tar=1.0)
    assert got.item() == pytest.approx(2.0 * ar + 1.0 * tar)


@pytest.mark.slow
def test_awd_lstm_sets_its_penalty_in_training_only():
    from rnnbench_models.awd_lstm import build_awd_lstm

    model = build_awd_lstm(CONTEXT, embedding_dim=8, hidden_size=12, num_layers=3)
    assert [layer.rnn.hidden_size for layer in model.layers] == [12, 12, 8]
    assert model.output_size == 8
    words = torch.randint(1, 30, (2, 5))
    out = model.train()(words, torch.full((2,), 5))
    assert out.sequence.shape == (2, 5, 8) and len(out.state) == 3
    assert model.penalty is not None and model.penalty.item() > 0
    model.eval()(words, torch.full((2,), 5))
    assert model.penalty is None


def run_config(tmp_path, model: str, model_params: dict, **train):
    (tmp_path / "lm.txt").write_text("to be or not to be that is the question\n" * 40)
    sets = {
        "task": {"dataset": str(tmp_path / "lm.txt"), "bptt": 8, "cache": False},
        "model": model_params,
        "train": {"batch_size": 4, "progress": False, **train},
    }
    return prepare(
        build_run_config(get_registry(), model, "language-modelling", sets), get_registry()
    )


@pytest.mark.slow
def test_tied_weights_share_storage(tmp_path):
    run = run_config(
        tmp_path, "awd-lstm", {"embedding_dim": 8, "hidden_size": 12}, tie_embeddings=True
    )
    embedding = run.system.model.embedding
    assert run.system.head.weight is embedding.weight
    assert run.system.head.weight.data_ptr() == embedding.weight.data_ptr()
    count = sum(p.numel() for p in run.system.parameters())
    untied = run_config(tmp_path, "awd-lstm", {"embedding_dim": 8, "hidden_size": 12})
    assert sum(p.numel() for p in untied.system.parameters()) - count == embedding.weight.numel()


def test_tying_different_sizes_is_refused_in_one_line_or_projected(tmp_path):
    with pytest.raises(
        ConfigError,
        match="train.tie_embeddings: model 'lstm' outputs 16 "
        "features but its embedding has 8; make them equal or set "
        "train.tie_projection=true",
    ):
        run_config(tmp_path, "lstm", {"embedding_dim": 8, "hidden_size": 16}, tie_embeddings=True)
    run = run_config(
        tmp_path,
        "lstm",
        {"embedding_dim": 8, "hidden_size": 16},
        tie_embeddings=True,
        tie_projection=True,
    )
    projection, softmax = run.system.head
    assert (projection.in_features, projection.out_features) == (16, 8)
    assert softmax.weight is run.system.model.encoder.embedding.weight


@pytest.mark.slow
def test_init_range_draws_the_embedding_and_the_softmax_uniformly(tmp_path):
    run = run_config(tmp_path, "lstm", {"embedding_dim": 8, "hidden_size": 8}, init_range=0.1)
    embedding = run.system.model.encoder.embedding.weight  # (V, E)
    head = run.system.head
    for weight in (embedding, head.weight):
        assert weight.abs().max() <= 0.1 and weight.abs().max() > 0.05
    assert embedding[run.system.model.encoder.embedding.padding_idx].abs().sum() == 0
    assert head.bias.abs().sum() == 0
    default = run_config(tmp_path, "lstm", {"embedding_dim": 8, "hidden_size": 8})
    assert default.system.model.encoder.embedding.weight.abs().max() > 1  # N(0, 1)
    again = run_config(tmp_path, "lstm", {"embedding_dim": 8, "hidden_size": 8}, init_range=0.1)
    assert torch.equal(again.system.head.weight, head.weight)  # seeded: the same draw
