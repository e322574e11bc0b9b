"""The remedies for vanishing and exploding gradients: initialisation options, Greff et
al.'s LSTM variants, layer- and batch-normalised recurrences, and their bad inputs."""

import json
import math
import textwrap

import pytest
import torch

from rnnbench import ConfigError, ModelContext
from rnnbench.contract.registry import get_registry

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)

FEATURES = ModelContext("features", "sequence", feature_size=3)
sig, tanh = torch.sigmoid, torch.tanh


def build(name, **hp):
    spec = get_registry().model(name)
    values = spec.params.resolve({"hidden_size": 4, **hp}, "model", source="test")
    torch.manual_seed(0)
    return spec.builder(FEATURES, **values)


def by_hand(module):
    """Set every parameter to a fixed ramp, so the hand computation below is ours."""
    with torch.no_grad():
        for k, p in enumerate(module.parameters()):
            p.copy_(torch.linspace(-0.8 + 0.05 * k, 0.9, p.numel()).reshape(p.shape))


# --- 1. initialisation ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["rnn", "birnn"])
def test_identity_init_is_the_irnn(name):
    model = build(name, init="identity", init_scale=0.5, num_layers=2, nonlinearity="relu")
    weights = {n: p for n, p in model.rnn.named_parameters()}
    hh = [n for n in weights if n.startswith("weight_hh")]
    assert len(hh) == (4 if name == "birnn" else 2)
    for n in hh:
        assert torch.equal(weights[n], 0.5 * torch.eye(4))
    for n in (n for n in weights if n.startswith("bias")):
        assert torch.equal(weights[n], torch.zeros(4))
    assert weights["weight_ih_l0"].abs().sum() > 0  # the input weights keep torch's draw


@pytest.mark.parametrize(
    ("name", "blocks", "weight"),
    [
        ("rnn", 1, lambda m: m.rnn.weight_hh_l0),
        ("gru", 3, lambda m: m.rnn.weight_hh_l0),
        ("lstm", 4, lambda m: m.rnn.weight_hh_l0),
        ("lstm-peephole", 4, lambda m: m.layers[0][0].recurrent.weight),
        ("ln-lstm", 4, lambda m: m.layers[0][0].recurrent.weight),
        ("ln-gru", 3, lambda m: m.layers[0][0].recurrent.weight),
        ("bn-lstm", 4, lambda m: m.layers[0][0].recurrent.weight),
    ],
)
def test_orthogonal_init_gives_scaled_orthogonal_gate_blocks(name, blocks, weight):
    extra = {"variant": "peephole"} if name == "lstm-peephole" else {}
    model = build(name.removesuffix("-peephole"), init="orthogonal", init_scale=1.5, **extra)
    w = weight(model).detach()
    assert w.shape == (4 * blocks, 4)
    for block in w.split(4):
        assert torch.allclose(block @ block.T, 2.25 * torch.eye(4), atol=1e-5)
    assert not torch.allclose(w[:4], w[4:8]) if blocks > 1 else True


def test_default_init_scale_multiplies_torch_draw_and_keeps_the_rest():
    plain, scaled = build("lstm"), build("lstm", init_scale=3.0)
    assert torch.allclose(scaled.rnn.weight_hh_l0, 3 * plain.rnn.weight_hh_l0)
    assert torch.equal(scaled.rnn.weight_ih_l0, plain.rnn.weight_ih_l0)
    H = 4
    b = scaled.rnn.bias_ih_l0 + scaled.rnn.bias_hh_l0
    assert torch.allclose(b[H : 2 * H], torch.ones(H))  # forget bias untouched


ADDING = ("run", "--task", "adding", "--max-epochs", "1")


@pytest.mark.parametrize(
    ("model", "sets", "message"),
    [
        ("rnn", ["model.init_scale=0"], "--set model.init_scale: must be > 0, got 0.0"),
        ("birnn", ["model.init_scale=-1"], "--set model.init_scale: must be > 0, got -1.0"),
        (
            "rnn",
            ["model.init=xavier"],
            "--set model.init: 'xavier' is not one of default, identity, orthogonal",
        ),
        (
            "lstm",
            ["model.init=identity"],
            "--set model.init: 'identity' is refused: the identity initialisation (IRNN",
        ),
        ("gru", ["model.init=identity"], "--set model.init: 'identity' is refused"),
        ("ln-gru", ["model.init=identity"], "--set model.init: 'identity' is refused"),
        ("lstm", ["model.variant=nxg"], "--set model.variant: 'nxg' is not one of vanilla, np, "),
        ("textrnn", ["model.init=identity"], "--set model.init: unknown option"),
    ],
)
def test_bad_remedy_values_are_one_line_and_write_nothing(cli, tmp_path, model, sets, message):
    results = tmp_path / "results"
    args = [a for s in sets for a in ("--set", s)]
    if model == "textrnn":
        args += ["--task", "text-classification"]
    code, _, err = cli(*ADDING, "--model", model, *args, "--results-dir", str(results))
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not results.exists()


def test_init_is_searchable_from_a_sweep_config_and_checked_there(tmp_path):
    from rnnbench.contract.params import Choice, FloatRange
    from rnnbench.sweep.config import build_sweep_config

    good = tmp_path / "good.yaml"
    good.write_text(
        textwrap.dedent("""
        models: [rnn, lstm]
        tasks: [adding]
        model_params:
          rnn: {init: {choices: [default, identity]}, init_scale: {low: 0.5, high: 2.0}}
          lstm: {init: {choices: [default, orthogonal]}}
    """)
    )
    config = build_sweep_config(get_registry(), good, {})
    assert config.model_params["rnn"]["init"] == Choice(("default", "identity"))
    assert config.model_params["rnn"]["init_scale"] == FloatRange(0.5, 2.0)
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("[default, orthogonal]", "[identity]"))
    with pytest.raises(
        ConfigError,
        match=r"bad.yaml line 6: search space for init: "
        r"'identity' is refused",
    ):
        build_sweep_config(get_registry(), bad, {})
    bad.write_text(good.read_text().replace("low: 0.5", "low: 0.0"))
    with pytest.raises(ConfigError, match=r"init_scale: must be > 0, got 0\.0"):
        build_sweep_config(get_registry(), bad, {})


# --- 2. Greff et al.'s variants, by hand on a 2-step example ---------------------------


def greff_step(variant, layer, x, h, c, prev):
    """One step of `variant` from Greff et al.'s equations, reading the layer's weights
    by gate name. prev: the previous (i, f, o) for fgr."""
    H = layer.hidden_size
    W, b, U = layer.input_proj.weight, layer.input_proj.bias, layer.recurrent.weight
    z = {
        name: x @ W[k * H : (k + 1) * H].T + b[k * H : (k + 1) * H] + h @ U[k * H : (k + 1) * H].T
        for k, name in enumerate(layer.blocks)
    }
    p = dict(zip(layer.peep_gates, layer.peep, strict=True)) if layer.peep_gates else {}
    if variant == "fgr":
        R = layer.gate_recurrent.weight  # rows: inputs of i, f, o; columns: i, f, o (t-1)
        extra = torch.cat(prev, dim=1) @ R.T
        for k, name in enumerate("ifo"):
            z[name] = z[name] + extra[:, k * H : (k + 1) * H]
    peep_c = lambda gate, cell: p[gate] * cell if gate in p else 0  # noqa: E731
    f = sig(z["f"] + peep_c("f", c)) if variant != "nfg" else torch.ones_like(c)
    if variant in ("cifg", "coupled"):
        i = 1 - f
    elif variant == "nig":
        i = torch.ones_like(c)
    else:
        i = sig(z["i"] + peep_c("i", c))
    g = z["g"] if variant == "niaf" else tanh(z["g"])
    c_new = f * c + i * g
    o = torch.ones_like(c) if variant == "nog" else sig(z["o"] + peep_c("o", c_new))
    h_new = o * (c_new if variant == "noaf" else tanh(c_new))
    return h_new, c_new, (i, f, o)


@pytest.mark.parametrize(
    "variant", ["peephole", "nig", "nfg", "nog", "niaf", "noaf", "cifg", "fgr", "coupled"]
)
def test_each_greff_variant_matches_a_hand_computation(variant):
    from rnnbench_models.lstm import VariantLSTMLayer

    layer = VariantLSTMLayer(3, 2, variant, forget_bias=1.0)
    by_hand(layer)
    x = torch.tensor(
        [[[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]], [[-0.2, 0.8, 0.1], [0.0, -1.2, 0.4]]]
    )  # (B=2, T=2, E=3)
    out, final = layer(x, None)
    h = c = torch.zeros(2, 2)
    prev = (torch.zeros(2, 2),) * 3
    for t in range(2):
        h, c, prev = greff_step(variant, layer, x[:, t], h, c, prev)
        assert torch.allclose(out[:, t], h, atol=1e-6), t
    assert torch.allclose(final[0], h, atol=1e-6) and torch.allclose(final[1], c, atol=1e-6)


def test_variants_have_the_gates_and_parameters_of_their_definition():
    from rnnbench_models.lstm import FusedRecurrent, VariantLSTMLayer

    sizes = {
        v: VariantLSTMLayer(3, 4, v, 1.0).input_proj.out_features // 4
        for v in ("peephole", "nig", "nfg", "nog", "niaf", "noaf", "cifg", "fgr", "coupled")
    }
    assert sizes == {
        "peephole": 4,
        "nig": 3,
        "nfg": 3,
        "nog": 3,
        "niaf": 4,
        "noaf": 4,
        "cifg": 3,
        "fgr": 4,
        "coupled": 3,
    }
    assert tuple(VariantLSTMLayer(3, 4, "cifg", 1.0).peep.shape) == (2, 4)
    assert not hasattr(VariantLSTMLayer(3, 4, "coupled", 1.0), "peep")
    assert tuple(VariantLSTMLayer(3, 4, "fgr", 1.0).gate_recurrent.weight.shape) == (12, 12)
    assert isinstance(build("lstm", variant="np"), FusedRecurrent)
    forget = VariantLSTMLayer(3, 4, "nig", 1.0)  # blocks f, g, o: b_f = forget_bias
    assert torch.equal(forget.input_proj.bias[:4], torch.ones(4))


# --- 3. normalised recurrences --------------------------------------------------------


def ln(z, gain, bias=None):
    mean, var = z.mean(-1, keepdim=True), z.var(-1, unbiased=False, keepdim=True)
    out = (z - mean) / torch.sqrt(var + 1e-5) * gain
    return out + bias if bias is not None else out


X2 = torch.tensor(
    [
        [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]],
        [[-0.2, 0.8, 0.1], [0.0, -1.2, 0.4]],
        [[1.0, 1.0, -1.0], [0.2, 0.6, 0.9]],
    ]
)  # (B=3, T=2, F=3)


def test_ln_lstm_matches_ba_et_al_by_hand():
    model = build("ln-lstm", hidden_size=2)
    layer = model.layers[0][0]
    by_hand(layer)
    got = model(X2, torch.full((3,), 2)).sequence
    W, U = layer.input_proj.weight, layer.recurrent.weight
    h = c = torch.zeros(3, 2)
    for t in range(2):
        pre = ln(X2[:, t] @ W.T, layer.norm_x.weight, layer.norm_x.bias) + ln(
            h @ U.T, layer.norm_h.weight
        )
        i, f, g, o = pre[:, :2], pre[:, 2:4], pre[:, 4:6], pre[:, 6:]
        c = sig(f) * c + sig(i) * tanh(g)
        h = sig(o) * tanh(ln(c, layer.norm_c.weight, layer.norm_c.bias))
        assert torch.allclose(got[:, t], h, atol=1e-6), t


def test_ln_gru_matches_its_equations_by_hand():
    model = build("ln-gru", hidden_size=2)
    layer = model.layers[0][0]
    by_hand(layer)
    got = model(X2, torch.full((3,), 2)).sequence
    W, U = layer.input_proj.weight, layer.recurrent.weight
    h = torch.zeros(3, 2)
    for t in range(2):
        wx, uh = X2[:, t] @ W.T, h @ U.T
        gates = ln(wx[:, :4], layer.norm_x_gates.weight, layer.norm_x_gates.bias) + ln(
            uh[:, :4], layer.norm_h_gates.weight
        )
        r, z = sig(gates[:, :2]), sig(gates[:, 2:])
        n = tanh(
            ln(wx[:, 4:], layer.norm_x_new.weight, layer.norm_x_new.bias)
            + r * ln(uh[:, 4:], layer.norm_h_new.weight, layer.norm_h_new.bias)
        )
        h = (1 - z) * n + z * h
        assert torch.allclose(got[:, t], h, atol=1e-6), t


def bn(z, gain, bias=None):
    """Batch statistics over dim 0 (the sequences at one step)."""
    out = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5) * gain
    return out + bias if bias is not None else out


def test_bn_lstm_training_step_uses_per_step_batch_statistics():
    model = build("bn-lstm", hidden_size=2).train()
    layer = model.layers[0][0]
    assert all(
        torch.equal(n.weight, torch.full_like(n.weight, 0.1))
        for n in (layer.norm_x, layer.norm_h, layer.norm_c)
    )  # γ = 0.1 at start
    assert torch.equal(layer.norm_c.bias, torch.zeros(2))
    by_hand(layer)
    got = model(X2, torch.full((3,), 2)).sequence
    W, U, b = layer.input_proj.weight, layer.recurrent.weight, layer.bias
    h = c = torch.zeros(3, 2)
    means = []
    for t in range(2):
        uh = h @ U.T
        means.append(uh.mean(0))
        pre = bn(X2[:, t] @ W.T, layer.norm_x.weight) + bn(uh, layer.norm_h.weight) + b
        i, f, g, o = pre[:, :2], pre[:, 2:4], pre[:, 4:6], pre[:, 6:]
        c = sig(f) * c + sig(i) * tanh(g)
        h = sig(o) * tanh(bn(c, layer.norm_c.weight, layer.norm_c.bias))
        assert torch.allclose(got[:, t], h, atol=1e-5), t
    # running averages, one row per step, moved 10% of the way from (0, 1)
    assert layer.norm_h.running_mean.shape == (2, 8)
    assert torch.allclose(layer.norm_h.running_mean, 0.1 * torch.stack(means), atol=1e-6)


def test_bn_lstm_statistics_ignore_padding_and_eval_reuses_the_last_step():
    from rnnbench_models.normalized import StepBatchNorm

    norm = StepBatchNorm(2, gamma=1.0).train()
    x = torch.tensor(
        [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[3.0, 0.0], [9.0, 9.0], [9.0, 9.0]]]
    )  # second sequence: 1 real step
    mask = torch.tensor([[True, True, True], [True, False, False]])
    junk = x.clone()
    junk[1, 1:] = -100.0
    a, b = norm(x, mask, 0), StepBatchNorm(2, gamma=1.0).train()(junk, mask, 0)
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[:, 0], b[:, 0])
    assert torch.allclose(norm.running_mean[0], 0.1 * torch.tensor([2.0, 1.0]))
    assert torch.allclose(norm.running_mean[1], 0.1 * torch.tensor([3.0, 4.0]))  # alone
    assert torch.allclose(norm.running_var[1], torch.ones(2))  # one sample: no variance
    norm.eval()
    late = norm(torch.ones(1, 2, 2), None, 5)  # steps 5 and 6 > the 3 trained ones
    want = (1 - norm.running_mean[2]) / torch.sqrt(norm.running_var[2] + 1e-5)
    assert torch.allclose(late[0, 0], want) and torch.allclose(late[0, 1], want)


def test_step_batch_norm_fused_and_masked_paths_agree():
    from rnnbench_models.normalized import StepBatchNorm

    x = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(1))
    fused, masked = StepBatchNorm(3).train(), StepBatchNorm(3).train()
    a = fused(x, None, 0)
    b = masked(x, torch.ones(5, 4, dtype=torch.bool), 0)  # the masked path, nothing masked
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(fused.running_mean, masked.running_mean, atol=1e-6)
    assert torch.allclose(fused.running_var, masked.running_var, atol=1e-5)
    step = StepBatchNorm(3).train()
    for t in range(4):  # one step at a time, as the recurrence calls it
        step(x[:, t : t + 1], None, t)
    assert torch.allclose(step.running_var, fused.running_var, atol=1e-6)


def test_bn_lstm_state_dict_round_trips_through_a_fresh_model():
    trained = build("bn-lstm", hidden_size=2).train()
    trained(X2, torch.tensor([2, 1, 2]))
    fresh = build("bn-lstm", hidden_size=2)
    assert fresh.layers[0][0].norm_c.running_mean.shape == (0, 2)
    fresh.load_state_dict(trained.state_dict())
    trained.eval(), fresh.eval()
    assert torch.equal(
        fresh(X2, torch.full((3,), 2)).sequence, trained(X2, torch.full((3,), 2)).sequence
    )


@pytest.mark.parametrize("name", ["ln-lstm", "ln-gru", "bn-lstm"])
def test_normalised_models_learn_in_training_mode(name):
    """A few Adam steps reduce a regression loss; BN runs on batch statistics."""
    model = build(name).train()
    head = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=0.05)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 6, 3, generator=g)
    y = x[:, :, :1].cumsum(1)  # (B, T, 1) running sum of the first channel
    lengths = torch.full((16,), 6)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = (head(model(x, lengths).sequence) - y).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# --- end to end -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sets",
    [
        ("model.nonlinearity=relu", "model.init=identity"),
        ("model.init=orthogonal", "model.init_scale=0.9"),
    ],
)
def test_irnn_and_orthogonal_rnn_run_end_to_end(cli, tmp_path, sets):
    from conftest import TINY

    args = [a for s in sets for a in ("--set", s)]
    code, out, err = cli(
        "run",
        "--model",
        "rnn",
        "--task",
        "adding",
        *TINY,
        *args,
        "--set",
        "task.seq_len=10",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["hparams"]["model.init"] == sets[1 if "init=" in sets[1] else 0].split("=")[1]


def test_bn_lstm_trains_and_tests_from_its_checkpoint(cli, tmp_path):
    """The best checkpoint is reloaded for testing: the running statistics, whose length
    is the longest training length, load into the model."""
    from conftest import TINY

    code, out, err = cli(
        "run",
        "--model",
        "bn-lstm",
        "--task",
        "adding",
        *TINY,
        "--set",
        "task.seq_len=12",
        "--results-dir",
        str(tmp_path / "r"),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert math.isfinite(result["metrics"]["test_mse"]) and not result["diverged"]


def test_list_shows_the_normalised_models(cli):
    code, out, _ = cli("list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "Layer-normalised".lower() in lines["ln-lstm"].lower()
    assert "batch-normalised" in lines["bn-lstm"] and "ln-gru" in lines
