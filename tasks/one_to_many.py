"""1-vs-N: one fixed-size input vector unrolled into a sequence (the "one to many" shape
of Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural Networks"; image
captioning and music from a category are its uses).

`waveform`: generate T samples of a sum of K sines from their parameters.

    a_k ~ U(0.5, 1.5), f_k ~ U(1, task.max_freq) cycles per sequence, phi_k ~ U(0, 2 pi)
    y_t = sum_k a_k sin(2 pi f_k t / T + phi_k),   t = 0 .. T-1         target (T,)
    v   = [a_k, f_k / max_freq, sin phi_k, cos phi_k]_{k=1..K}            vector (4K,)

K = task.components (1, or 2 for a mixture); the phase enters as (sin, cos) so that
the vector is continuous in it. task.feed says how the vector reaches the network, the
two 1-vs-N forms of the texts:

    "first": x_1 = v, x_t = 0 for t > 1  (the vector once, as an initial input; the
             network must unroll the waveform from its state: Vinyals et al. 2015's
             captioning model feeds the image once)
    "every": x_t = v for every t         (the vector at every step, as in Mao et al.
             2015's m-RNN, which feeds the image to every step)

Inputs (N, T, 4K) features, all sequences of length T; the model's per-step output
(N, T, D) goes through a linear head to (N, T); MSE over every step. Baseline: the
training mean waveform (each step's mean target), whose test MSE is close to
K * E[a^2] / 2 = K * 13/24 = 0.54 K because the phases are uniform. Solved: test MSE
below 0.05 (under a tenth of the one-sine baseline).
"""

from __future__ import annotations

import math

from rnnbench import ConfigError, ModelContext, Param, ParamSet, TaskSpec, hookimpl
from rnnbench.taskkit import StepRegression, SyntheticTask, size_options

FEEDS = ("first", "every")
AMPLITUDE = (0.5, 1.5)  # a_k ~ U(low, high)
MIN_FREQ = 1.0  # cycles per sequence
SOLVED_MSE = 0.05


class WaveformTask(SyntheticTask):
    input_kind, output = "features", "sequence"
    metric_unit = "MSE"
    baseline_name = "training mean waveform"

    def __init__(self, options, batch_size, seed):
        T, top = options["seq_len"], options["max_freq"]
        if top >= T / 2:
            raise ConfigError(
                f"task.max_freq: {top:g} cycles in task.seq_len={T} samples "
                f"reaches the Nyquist limit of {T / 2:g} (seq_len / 2); lower "
                "task.max_freq or raise task.seq_len"
            )
        super().__init__(options, batch_size, seed)
        self.objective = StepRegression()

    def generate(self, n: int, seed: int) -> dict:
        import torch

        g = torch.Generator().manual_seed(seed)
        T, K, top = self.options["seq_len"], self.options["components"], self.options["max_freq"]
        low, high = AMPLITUDE
        amplitude = low + (high - low) * torch.rand(n, K, 1, generator=g)  # (N, K, 1)
        freq = MIN_FREQ + (top - MIN_FREQ) * torch.rand(n, K, 1, generator=g)  # (N, K, 1)
        phase = 2 * math.pi * torch.rand(n, K, 1, generator=g)  # (N, K, 1)
        t = torch.arange(T, dtype=torch.float32)  # (T,)
        waves = amplitude * torch.sin(2 * math.pi * freq * t / T + phase)  # (N, K, T)
        vector = torch.cat([amplitude, freq / top, phase.sin(), phase.cos()], -1)  # (N, K, 4)
        vector = vector.reshape(n, 4 * K)  # (N, 4K)
        inputs = vector[:, None, :].expand(n, T, 4 * K).clone()  # (N, T, 4K)
        if self.options["feed"] == "first":
            inputs[:, 1:] = 0.0
        return {
            "inputs": inputs,
            "lengths": torch.full((n,), T, dtype=torch.long),
            "target": waves.sum(1),
        }  # (N, T)

    def context(self) -> ModelContext:
        return ModelContext(
            input_kind="features", output="sequence", feature_size=4 * self.options["components"]
        )


WAVEFORM = TaskSpec(
    name="waveform",
    factory=WaveformTask,
    input_kind="features",
    output="sequence",
    options=ParamSet(
        (
            *size_options(50, "waveform length T (samples per sequence)", 2000, 500, 500),
            Param(
                "feed",
                str,
                "first",
                "how the parameter vector reaches the network: at the "
                "first step only (zeros after) or at every step",
                choices=FEEDS,
            ),
            Param(
                "components",
                int,
                1,
                "sines summed per waveform (2: a mixture)",
                minimum=1,
                maximum=2,
            ),
            Param(
                "max_freq",
                float,
                3.0,
                "highest frequency in cycles per sequence (frequencies "
                "are uniform in [1, max_freq]; below seq_len / 2)",
                minimum=MIN_FREQ,
            ),
        )
    ),
    monitor="val_loss",
    mode="min",
    main_metric="mse",
    solved=lambda m: m.get("mse", math.inf) < SOLVED_MSE,
    synthetic=True,
    length_option="seq_len",
    description="1-vs-N: a waveform of T samples generated from one parameter vector (MSE)",
)


@hookimpl
def register_tasks(register):
    register(WAVEFORM)
