"""The built-in Optuna samplers (tpe, random) and pruners (median, hyperband, none),
registered through the `rnnbench` entry-point group with the hooks a third-party plugin
implements.

Importing this module is cheap (no Optuna): each factory imports it when a sweep asks.
"""

from __future__ import annotations

from typing import Any

from rnnbench.contract.extension_specs import PrunerSpec, SamplerSpec
from rnnbench.contract.hookspecs import hookimpl


def tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=2)


def random_sampler(seed: int) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def median(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)


def hyperband(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs)


def no_pruning(max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.NopPruner()


@hookimpl
def register_samplers(register):
    register(SamplerSpec("tpe", tpe, "Tree-structured Parzen Estimator, 2 random startup trials"))
    register(SamplerSpec("random", random_sampler, "independent uniform draws"))


@hookimpl
def register_pruners(register):
    register(
        PrunerSpec(
            "median",
            median,
            "stop a trial below the median of earlier trials "
            "at the same epoch (after 2 trials, from epoch 2)",
        )
    )
    register(PrunerSpec("hyperband", hyperband, "Hyperband over 1..max_epochs epochs"))
    register(PrunerSpec("none", no_pruning, "never prune"))
