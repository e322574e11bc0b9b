"""Which devices a run asks for, and whether this machine has them (checked before
anything is written)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rnnbench.contract.errors import ConfigError


def parse_devices(text: str) -> int | str | list[int]:
    text = text.strip()
    if text == "auto":
        return "auto"
    if "," in text:
        try:
            return [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            pass
    elif text.lstrip("-").isdigit():
        return int(text)
    raise ConfigError(f"train.devices: expected a count, 'auto' or a list like 0,1, got {text!r}")


def check_strategy(name: str) -> None:
    """A strategy Lightning knows by name ('auto' or its StrategyRegistry's)."""
    from lightning.pytorch.strategies import StrategyRegistry

    from rnnbench.contract.params import suggest

    known = ["auto", *StrategyRegistry.available_strategies()]
    if name not in known:
        hint = (
            suggest(name, known)
            if " (did you" in suggest(name, known)
            else " (e.g. auto, ddp, ddp_spawn, fsdp; Lightning's StrategyRegistry lists all)"
        )
        raise ConfigError(f"train.strategy: unknown strategy {name!r}{hint}")


def check_devices(train: Mapping[str, Any]) -> None:
    """Refuse a device or strategy request this machine cannot satisfy, before anything
    is written (Lightning would fail later, after the MLflow run exists, or start more
    processes than the machine has CPUs)."""
    import os

    import torch

    devices = parse_devices(train["devices"])
    accelerator = train["accelerator"]
    check_strategy(train["strategy"])
    if devices == 0 or (isinstance(devices, int) and devices < -1):
        raise ConfigError(
            f"train.devices: expected a count >= 1, -1 (all) or 'auto', got {devices}"
        )
    on_cpu = accelerator == "cpu" or (
        accelerator == "auto"
        and not torch.cuda.device_count()
        and not torch.backends.mps.is_available()
    )
    if on_cpu:
        cpus = os.cpu_count() or 1
        if isinstance(devices, list):
            raise ConfigError(
                f"train.devices: device ids ({train['devices']}) select GPUs; on "
                "the CPU give a process count, e.g. --devices 2"
            )
        if isinstance(devices, int) and devices > cpus:
            raise ConfigError(
                f"train.devices: {devices} CPU processes requested, this machine has {cpus} CPUs"
            )
        return
    if accelerator not in ("gpu", "cuda", "mps"):
        return  # auto on a machine with an accelerator: Lightning picks what exists

    if accelerator == "mps":
        kind, found = "MPS devices", int(torch.backends.mps.is_available())
    else:
        kind, found = "GPUs", torch.cuda.device_count()
    if isinstance(devices, list):
        missing = [i for i in devices if not 0 <= i < found]
        if missing:
            raise ConfigError(
                f"train.devices: {kind} {','.join(map(str, devices))} requested, "
                f"{found} found" + (f" (ids 0-{found - 1})" if found else "")
            )
        return
    if devices == 0 or (isinstance(devices, int) and devices < -1):
        raise ConfigError(
            f"train.devices: expected a count >= 1, -1 (all) or 'auto', got {devices}"
        )
    wanted = 1 if devices in ("auto", -1) else int(devices)  # all/auto still need one
    if wanted > found:
        raise ConfigError(
            f"train.devices: {devices if devices != -1 else 'all'} {kind} requested, {found} found"
        )


def is_distributed(train: Mapping[str, Any]) -> bool:
    devices = parse_devices(train["devices"])
    many = (isinstance(devices, int) and devices > 1) or (
        isinstance(devices, list) and len(devices) > 1
    )
    return many or train["strategy"].startswith("ddp")
