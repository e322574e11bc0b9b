"""Built-in models: the contract, padding invariance, and faithfulness to their papers."""

import math

import pytest
import torch

from rnnbench import ModelContext
from rnnbench.contract.registry import get_registry
from rnnbench.testing import check_model_spec

SMALL = {"hidden_size": 8, "embedding_dim": 6, "context_size": 5}

VARIANTS = [
    ("rnn", {}),
    ("rnn", {"nonlinearity": "relu", "num_layers": 2}),
    ("birnn", {}),
    ("lstm", {}),
    ("lstm", {"bidirectional": True, "num_layers": 2}),
    ("lstm", {"variant": "peephole"}),
    ("lstm", {"variant": "coupled", "num_layers": 2}),
    ("lstm", {"variant": "peephole", "bidirectional": True}),
    ("gru", {}),
    ("gru", {"bidirectional": True}),
    ("textrnn", {}),
    ("rcnn", {}),
    ("rcnn", {"cell": "lstm"}),
    ("memnet", {"hops": 2, "memory_size": 6, "window": 3}),
    ("memnet", {"linear_start_steps": 10}),
    *(("lstm", {"variant": v}) for v in ("np", "nig", "nfg", "nog", "niaf", "noaf", "cifg", "fgr")),
    ("lstm", {"variant": "fgr", "num_layers": 2}),
    ("lstm", {"variant": "nig", "bidirectional": True}),
    ("rnn", {"nonlinearity": "relu", "init": "identity"}),
    ("birnn", {"init": "orthogonal"}),
    ("gru", {"init": "orthogonal", "init_scale": 2.0}),
    ("lstm", {"init": "orthogonal"}),
    ("ln-lstm", {}),
    ("ln-lstm", {"num_layers": 2, "init": "orthogonal"}),
    ("ln-gru", {}),
    ("bn-lstm", {}),
    ("bn-lstm", {"num_layers": 2}),
    ("seq2seq", {}),
    ("seq2seq-attn", {"attention": "luong", "bidirectional": True}),
    ("recnn", {}),
    ("treelstm", {}),
    ("treelstm", {"variant": "childsum"}),  # tree contract
    ("awd-lstm", {"num_layers": 2}),
    ("awd-lstm", {"cell": "gru", "last_layer_embedding": False}),
]


def first_variant_fast(variants: list) -> list:
    """Each model's first variant in the fast tier, the others in the slow one."""
    seen: set[str] = set()
    cases = []
    for name, extra in variants:
        marks = () if name not in seen else pytest.mark.slow
        seen.add(name)
        cases.append(pytest.param(name, extra, marks=marks, id=f"{name}-{extra}"))
    return cases


def small(name, extra):
    spec = get_registry().model(name)
    return spec, {**{k: v for k, v in SMALL.items() if k in spec.params}, **extra}


@pytest.mark.parametrize(("name", "extra"), first_variant_fast(VARIANTS))
def test_contract_holds(name, extra):
    spec, hparams = small(name, extra)
    check_model_spec(spec, hparams)


def test_every_registered_model_is_covered():
    assert {name for name, _ in VARIANTS} == set(get_registry().models)


def test_memnet_uses_sentences_when_the_task_gives_them():
    spec, hp = small("memnet", {})
    ctx = ModelContext("tokens", "pooled", vocab_size=10, padding_idx=0, segment_token=9)
    model = spec.builder(ctx, **hp).eval()
    tokens = torch.tensor([[1, 2, 9, 3, 4, 5, 9, 6, 0, 0]])
    memory, position = model._memory_layout(tokens, torch.arange(10)[None] < 8)
    assert memory[0, :8].tolist() == [0, 0, 0, 1, 1, 1, 1, 2]
    assert position[0, :8].tolist() == [1, 2, 3, 1, 2, 3, 4, 1]
    # padding invariance with sentence memories
    alone = model(tokens[:, :8], torch.tensor([8])).pooled
    padded = model(tokens, torch.tensor([8])).pooled
    assert torch.allclose(alone, padded, atol=1e-6)


def test_memnet_position_encoding_matches_the_paper():
    from rnnbench_models.memnet import position_encoding

    d, J = 4, 3
    got = position_encoding(torch.tensor([1, 2, 3]), torch.tensor([J, J, J]), d)
    for j in range(1, J + 1):
        for k in range(1, d + 1):
            want = (1 - j / J) - (k / d) * (1 - 2 * j / J)
            assert math.isclose(float(got[j - 1, k - 1]), want, rel_tol=1e-6)


def test_memnet_linear_start_removes_the_softmax_then_restores_it():
    spec, hp = small("memnet", {"linear_start_steps": 2})
    ctx = ModelContext("tokens", "pooled", vocab_size=10, padding_idx=0)
    model = spec.builder(ctx, **hp)
    scores, valid = torch.tensor([[2.0, -1.0]]), torch.tensor([[True, True]])
    assert torch.equal(model.attend(scores, valid), scores)
    model.steps_seen.fill_(2)
    assert torch.allclose(model.attend(scores, valid), scores.softmax(-1))


def _gate_step(variant, layer, x, h, c):
    """One step computed from the equations, with the layer's own weights."""
    H = layer.hidden_size
    W, b, U = layer.input_proj.weight, layer.input_proj.bias, layer.recurrent.weight
    pre = x @ W.T + b + h @ U.T
    sig, tanh = torch.sigmoid, torch.tanh
    if variant == "peephole":
        zi, zf, zg, zo = (pre[:, k * H : (k + 1) * H] for k in range(4))
        p_i, p_f, p_o = layer.peep
        i, f = sig(zi + p_i * c), sig(zf + p_f * c)
        c_new = f * c + i * tanh(zg)
        o = sig(zo + p_o * c_new)
    else:
        zf, zg, zo = (pre[:, k * H : (k + 1) * H] for k in range(3))
        f = sig(zf)
        c_new = f * c + (1 - f) * tanh(zg)
        o = sig(zo)
    return o * tanh(c_new), c_new


@pytest.mark.parametrize("variant", ["peephole", "coupled"])
def test_variant_cell_matches_its_equations(variant):
    from rnnbench_models.lstm import VariantLSTMLayer

    torch.manual_seed(0)
    layer = VariantLSTMLayer(3, 4, variant, forget_bias=1.0)
    with torch.no_grad():  # weights set by hand
        for p in layer.parameters():
            p.copy_(torch.linspace(-0.7, 0.9, p.numel()).reshape(p.shape))
    x = torch.randn(2, 3, 3)
    h, c = torch.randn(2, 4), torch.randn(2, 4)
    out, (h_T, c_T) = layer(x, None, (h, c))
    for t in range(3):
        h, c = _gate_step(variant, layer, x[:, t], h, c)
        assert torch.allclose(out[:, t], h, atol=1e-6)
    assert torch.allclose(h_T, h, atol=1e-6) and torch.allclose(c_T, c, atol=1e-6)


def test_coupled_cell_has_no_input_gate_and_peephole_has_three_peepholes():
    from rnnbench_models.lstm import VariantLSTMLayer

    assert VariantLSTMLayer(3, 4, "coupled", 1.0).input_proj.out_features == 12
    peep = VariantLSTMLayer(3, 4, "peephole", 1.0)
    assert peep.input_proj.out_features == 16 and tuple(peep.peep.shape) == (3, 4)


def test_forget_bias_initialisation():
    spec, hp = small("lstm", {"forget_bias": 1.0})
    ctx = ModelContext("features", "pooled", feature_size=2)
    model = spec.builder(ctx, **hp)
    H = hp["hidden_size"]
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.allclose(b[H : 2 * H], torch.ones(H))
    coupled = spec.builder(ctx, **{**hp, "variant": "coupled"})
    assert torch.allclose(coupled.layers[0][0].input_proj.bias[:H], torch.ones(H))


def test_rcnn_pools_the_max_of_the_latent_vectors_over_real_positions():
    spec, hp = small("rcnn", {})
    ctx = ModelContext("tokens", "pooled", vocab_size=20, padding_idx=0)
    model = spec.builder(ctx, **hp).eval()
    tokens = torch.randint(1, 20, (3, 9))
    lengths = torch.tensor([9, 4, 1])
    pooled = model(tokens, lengths).pooled
    for b in range(3):
        n = int(lengths[b])
        e = model.encoder(tokens[b : b + 1, :n])  # (1, n, E)
        out, _ = model.contexts(e)  # unpadded run of this sequence alone
        C = model.context_size
        fwd, bwd = out[..., :C], out[..., C:]
        zeros = torch.zeros(1, 1, C)
        left = torch.cat([zeros, fwd[:, :-1]], 1)
        right = torch.cat([bwd[:, 1:], zeros], 1)
        y = torch.tanh(model.latent_proj(torch.cat([left, e, right], -1)))  # (1, n, H)
        assert torch.allclose(pooled[b], y[0].max(0).values, atol=1e-6)


def test_textrnn_reads_the_final_states_at_the_true_length():
    spec, hp = small("textrnn", {})
    ctx = ModelContext("tokens", "pooled", vocab_size=20, padding_idx=0)
    model = spec.builder(ctx, **hp).eval()
    tokens = torch.randint(1, 20, (2, 7))
    lengths = torch.tensor([7, 3])
    pooled = model(tokens, lengths).pooled
    out, _ = model.lstm(model.encoder(tokens[1:, :3]))
    H = hp["hidden_size"]
    assert torch.allclose(pooled[1, :H], out[0, 2, :H], atol=1e-6)  # forward at len-1
    assert torch.allclose(pooled[1, H:], out[0, 0, H:], atol=1e-6)  # backward at 0


def test_memnet_language_model_matches_per_step_memories():
    """Step t's memory holds the words t, t-1, ..., t-M+1 (with temporal encoding by
    recency); the query starts at 0.1; u^{k+1} = u^k + Σ p_i c_i with A^{k+1} = C^k."""
    spec, _ = small("memnet", {})
    M, d, K = 4, 6, 2
    ctx = ModelContext("tokens", "sequence", vocab_size=30, padding_idx=0)
    model = spec.builder(ctx, embedding_dim=d, memory_size=M, hops=K).eval()
    tokens = torch.randint(1, 30, (2, 9))
    got = model(tokens, torch.full((2,), 9)).sequence
    E, TE = model.embeddings, model.temporal
    for b in range(2):
        for t in range(9):
            words = [tokens[b, t - r] for r in range(M) if t - r >= 0]  # newest first
            u = torch.full((d,), 0.1)
            for k in range(K):
                m = torch.stack([E[k].weight[w] + TE[k][r] for r, w in enumerate(words)])
                c = torch.stack([E[k + 1].weight[w] + TE[k + 1][r] for r, w in enumerate(words)])
                u = u + (m @ u).softmax(0) @ c
            assert torch.allclose(got[b, t], u, atol=1e-5)
