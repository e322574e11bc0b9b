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


def check_devices(train: Mapping[str, Any]) -> None:
    """Refuse a device request this machine cannot satisfy, before anything is written
    (Lightning would fail later, after the MLflow run exists)."""
    devices = parse_devices(train["devices"])
    accelerator = train["accelerator"]
    if accelerator not in ("gpu", "cuda", "mps"):
        return  # cpu: any process count; auto: Lightning picks what exists
    import torch

    if accelerator == "mps":
        kind, found = "MPS devices", int(torch.backends.mps.is_available())
    else:
        kind, found = "GPUs", torch.cuda.device_count()
    if isinstance(devices, list):
        missing = [i for i in devices if not 0 <= i < found]
        if missing:
            raise ConfigError(f"train.devices: {kind} {','.join(map(str, devices))} requested, "
                              f"{found} found" + (f" (ids 0-{found - 1})" if found else ""))
        return
    if devices == 0 or (isinstance(devices, int) and devices < -1):
        raise ConfigError(f"train.devices: expected a count >= 1, -1 (all) or 'auto', got {devices}")
    wanted = 1 if devices in ("auto", -1) else int(devices)  # all/auto still need one
    if wanted > found:
        raise ConfigError(f"train.devices: {devices if devices != -1 else 'all'} {kind} "
                          f"requested, {found} found")


def is_distributed(train: dict[str, Any]) -> bool:
    devices = parse_devices(train["devices"])
    many = (isinstance(devices, int) and devices > 1) or (isinstance(devices, list) and len(devices) > 1)
    return many or train["strategy"].startswith("ddp")
