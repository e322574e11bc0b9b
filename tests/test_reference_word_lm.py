"""The PyTorch word-language-model reference: the committed sweep file and the
benchmark script's --set mapping give rnnbench the same settings."""

import importlib.util

from conftest import ROOT

from rnnbench.contract.registry import get_registry


def load_benchmark():
    path = ROOT / "benchmarks" / "pytorch_word_lm.py"
    spec = importlib.util.spec_from_file_location("pytorch_word_lm", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_file_holds_the_benchmark_mapping():
    from rnnbench.sweep.config import build_sweep_config

    path = ROOT / "results/reference/pytorch-word-lm.yaml"
    config = build_sweep_config(get_registry(), path, {})
    assert config.models == ("lstm",) and config.tasks == ("language-modelling",)
    sections = {
        "model": config.model_params["lstm"],
        "train": config.train,
        "task": config.task_options["language-modelling"],
    }
    for key, value in load_benchmark().MAPPING.items():
        section, name = key.split(".")
        if key == "train.progress":  # a display flag of the script's runs
            continue
        assert sections[section][name] == value, key
    assert config.train["max_epochs"] == config.train["patience"]  # every epoch runs
