"""Gradient flow through time and clipping statistics, checked against theory."""

import json
import math

import pytest
import torch
from torch import nn

from rnnbench import ModelOutput
from rnnbench.contract.registry import get_registry
from rnnbench.training.diagnostics import gradient_flow, log10_ratio
from rnnbench.training.system import BenchmarkSystem

pytestmark = pytest.mark.slow  # trains end to end (see pyproject markers)


class LinearRecurrence(nn.Module):
    """h_t = a * h_{t-1} + U x_t with a scalar a; pooled output h_T."""

    def __init__(self, a: float, hidden: int = 5, features: int = 2):
        super().__init__()
        self.a = a
        self.U = nn.Linear(features, hidden, bias=False)
        self.output_size = hidden

    def forward_unrolled(self, inputs, lengths):
        h = torch.zeros(inputs.shape[0], self.output_size)
        hidden = []
        for x_t in inputs.unbind(1):
            h = self.a * h + self.U(x_t)
            hidden.append(h)
        return ModelOutput(pooled=h, sequence=torch.stack(hidden, 1)), hidden

    def forward(self, inputs, lengths, state=None):
        return self.forward_unrolled(inputs, lengths)[0]


def adding_task(T=12):
    spec = get_registry().task("adding")
    options = spec.options.resolve(
        {"seq_len": T, "train_size": 8, "val_size": 8, "test_size": 8}, "task"
    )
    task = spec.factory(options, batch_size=8, seed=0)
    task.prepare()
    return task


@pytest.mark.parametrize("a", [0.5, -0.8, 1.3])
def test_linear_recurrence_matches_theory(a):
    torch.manual_seed(0)
    T = 12
    task = adding_task(T)
    system = BenchmarkSystem(LinearRecurrence(a), task)
    batch = task.splits[0][list(range(8))]
    norms = gradient_flow(system, batch)
    assert len(norms) == T
    for t in range(1, T + 1):  # loss on the last step only: |a|^(T-t) ‖dL/dh_T‖
        assert norms[t - 1] == pytest.approx(abs(a) ** (T - t) * norms[-1], rel=1e-5)
    assert log10_ratio(norms) == pytest.approx((T - 1) * math.log10(abs(a)), rel=1e-5)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("rnn", {}),
        ("lstm", {}),
        ("lstm", {"variant": "peephole"}),
        ("lstm", {"variant": "coupled"}),
        ("gru", {}),
        ("rnn", {"num_layers": 2}),
    ],
)
def test_every_builtin_recurrent_model_gives_t_finite_values(name, extra):
    task = adding_task(T=15)
    spec = get_registry().model(name)
    torch.manual_seed(0)
    model = spec.builder(task.context(), hidden_size=8, **extra)
    norms = gradient_flow(BenchmarkSystem(model, task), task.splits[0][list(range(8))])
    assert len(norms) == 15 and all(math.isfinite(n) and n > 0 for n in norms)


def test_bidirectional_models_refuse_gradient_flow(cli, tmp_path):
    code, _, err = cli(
        "run",
        "--model",
        "lstm",
        "--task",
        "adding",
        "--set",
        "model.bidirectional=true",
        "--diagnostics",
        "gradient-flow",
        "--results-dir",
        str(tmp_path / "r"),
    )
    assert code == 2 and "does not expose per-step hidden states" in err


def test_gradient_flow_run_logs_metric_and_artifacts(cli, tmp_path):
    results = tmp_path / "results"
    code, out, err = cli(
        "run",
        "--model",
        "rnn",
        "--task",
        "adding",
        "--set",
        "task.seq_len=20",
        "--set",
        "task.train_size=128",
        "--set",
        "task.val_size=32",
        "--set",
        "task.test_size=32",
        "--set",
        "model.hidden_size=8",
        "--set",
        "train.batch_size=32",
        "--set",
        "train.progress=false",
        "--set",
        "train.diagnostics_interval=2",
        "--diagnostics",
        "gradient-flow",
        "--max-epochs",
        "2",
        "--results-dir",
        str(results),
        "--json",
    )
    assert code == 0, err
    run_id = json.loads(out.strip().splitlines()[-1])["mlflow_run_id"]
    records = json.loads(
        (results / "runs" / run_id / "diagnostics" / "gradient_flow.json").read_text()
    )
    assert [r["step"] for r in records] == [1, 2, 4, 6, 8]
    assert all(len(r["norms"]) == 20 for r in records)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{results / 'mlflow.db'}")
    history = client.get_metric_history(run_id, "grad_flow_log10_ratio")
    assert len(history) >= 1
    artifacts = {a.path for a in client.list_artifacts(run_id, "diagnostics")}
    assert artifacts == {"diagnostics/gradient_flow.json", "diagnostics/gradient_flow.png"}


EXPLODING = [
    "--set",
    "task.seq_len=100",
    "--set",
    "task.train_size=1000",
    "--set",
    "task.val_size=200",
    "--set",
    "task.test_size=200",
    "--set",
    "model.nonlinearity=relu",
    "--set",
    "model.hidden_size=64",
    "--set",
    "train.optimizer=sgd",
    "--set",
    "train.lr=2",
    "--set",
    "train.progress=false",
    "--max-epochs",
    "3",
    "--clip-value",
    "1",
]


def test_clipping_keeps_a_large_learning_rate_stable(cli, tmp_path):
    outcome = {}
    for clip in ("norm", "none"):
        code, out, err = cli(
            "run",
            "--model",
            "rnn",
            "--task",
            "adding",
            *EXPLODING,
            "--clip-algorithm",
            clip,
            "--results-dir",
            str(tmp_path / clip),
            "--json",
        )
        assert code == 0, err
        outcome[clip] = json.loads(out.strip().splitlines()[-1])
    clipped, free = outcome["norm"], outcome["none"]
    assert not clipped["diverged"] and math.isfinite(clipped["metrics"]["test_mse"])
    assert clipped["clip_fraction"] > 0.1  # clipping was active
    assert free["clip_fraction"] == 0.0
    assert free["diverged"] or free["grad_norm_mean"] > 10 * clipped["grad_norm_mean"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'norm' / 'mlflow.db'}")
    assert len(client.get_metric_history(clipped["mlflow_run_id"], "grad_norm")) >= 3


def test_gradient_flow_comparison_draws_every_run_on_one_colour_scale(tmp_path):
    """The lesson's figure: one panel per model, titled with its name, one shared scale."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from rnnbench.training import diagnostics

    records = {
        "rnn": [{"step": 1, "norms": [1e-20, 1e-3, 1.0]}],
        "gru": [{"step": 1, "norms": [1e-2, 1e-1, 1.0]}, {"step": 25, "norms": [0.0, 1, 2]}],
    }
    drawn = {}
    real_close = plt.close
    plt.close = lambda fig: drawn.setdefault("fig", fig)  # keep the figure to inspect it
    try:
        files = [tmp_path / f"{name}.json" for name in records]
        for file, series in zip(files, records.values(), strict=True):
            file.write_text(json.dumps(series))
        out = tmp_path / "flow.png"
        assert diagnostics.main([f"rnn={files[0]}", f"gru={files[1]}", "--out", str(out)]) == 0
    finally:
        plt.close = real_close
    assert out.stat().st_size > 0
    fig = drawn["fig"]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["rnn", "gru"]
    limits = {ax.images[0].get_clim() for ax in panels}
    assert limits == {(-30.0, math.log10(2))}  # one scale: 0 floors at 1e-30
    assert len(fig.axes) == 3  # two panels and one colour bar
    with pytest.raises(SystemExit):
        diagnostics.main(["rnn", "--out", str(out)])  # NAME=PATH required
