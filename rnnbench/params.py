"""Typed parameters, at the import path plugin authors use (the module itself is
rnnbench.contract.params)."""

from rnnbench.contract.params import Choice, FloatRange, IntRange, Param, ParamSet, Space, suggest

__all__ = ["Choice", "FloatRange", "IntRange", "Param", "ParamSet", "Space", "suggest"]
