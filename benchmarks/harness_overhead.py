"""Per-step training time of the rnnbench harness (Lightning system, callbacks,
metrics, gradient-norm statistics, clipping) versus a hand-written PyTorch loop with
the same model, data, batch, optimiser, clipping and number of steps.

    python benchmarks/harness_overhead.py [--steps 60] [--repeats 3]

Both loops time every step from one batch start to the next; the reported figure is
the median step of the best repeat. Ratio = harness / hand-written (1.00 = no overhead).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import machine, markdown

from rnnbench.contract.registry import get_registry
from rnnbench.training.config import build_run_config
from rnnbench.training.runner import prepare
from rnnbench.training.trainer import make_trainer


def harness_config(hidden: int, batch: int, length: int, steps: int):
    sets = {
        "model": {"hidden_size": hidden},
        "task": {
            "seq_len": length,
            "train_size": batch * (steps + 5),
            "val_size": batch,
            "test_size": batch,
        },
        "train": {
            "batch_size": batch,
            "max_steps": steps,
            "max_epochs": 1,
            "limit_eval_batches": 1,
            "progress": False,
        },
    }
    return build_run_config(get_registry(), "lstm", "adding", sets)


def time_harness(config, tmp) -> list[float]:
    import lightning.pytorch as pl

    starts: list[float] = []

    class StepClock(pl.Callback):
        def on_train_batch_start(self, *args):
            starts.append(time.perf_counter())

    prepared = prepare(config, get_registry())
    trainer, _ = make_trainer(prepared, tmp, logger=False, callbacks=[StepClock()])
    trainer.fit(prepared.system, datamodule=prepared.task.datamodule)
    return [b - a for a, b in zip(starts, starts[1:], strict=False)]


def time_hand_written(config) -> list[float]:
    prepared = prepare(config, get_registry())  # same seed, data and model as the harness
    system, task = prepared.system, prepared.task
    model, head = system.model, system.head
    params = list(model.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=config.train["lr"])
    loader = task.datamodule.train_dataloader()
    starts = []
    for batch in loader:
        starts.append(time.perf_counter())
        out = model(batch["inputs"], batch["lengths"])
        loss = torch.nn.functional.mse_loss(head(out.pooled), batch["target"])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.train["clip_value"])
        optimizer.step()
        if len(starts) > config.train["max_steps"]:
            break
    return [b - a for a, b in zip(starts, starts[1:], strict=False)]


def main() -> None:
    import tempfile
    import warnings
    from pathlib import Path

    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for hidden in (256, 32):
        config = harness_config(hidden, 64, 128, args.steps)
        harness, hand = [], []
        for _ in range(args.repeats):  # alternate, so load changes hit both alike
            with tempfile.TemporaryDirectory() as tmp:
                harness.append(statistics.median(time_harness(config, Path(tmp))[5:]))
            hand.append(statistics.median(time_hand_written(config)[5:]))
        h, r = min(harness), min(hand)
        rows.append(
            [
                f"LSTM hidden {hidden}, batch 64, length 128",
                f"{r * 1000:.2f}",
                f"{h * 1000:.2f}",
                f"{h / r:.3f}",
            ]
        )
    print(f"# harness overhead, {args.steps} steps; {machine()}")
    print(markdown(["case", "hand-written ms/step", "rnnbench ms/step", "ratio"], rows))


if __name__ == "__main__":
    main()
