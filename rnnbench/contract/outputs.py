"""What a model returns: `ModelOutput` (re-exported by rnnbench.contract.specs and
rnnbench)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import torch


class _ModelOutputFields(NamedTuple):
    sequence: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    state: Any = None


_NOT_GIVEN = object()
_HIDDEN_DEPRECATED = (
    "ModelOutput(hidden=...) is deprecated and ignored (nothing read it); it will be "
    "removed in rnnbench 0.3. Gradient-flow diagnostics take the per-step states from "
    "forward_unrolled() (ModelSpec.hidden_states=True)."
)


class ModelOutput(_ModelOutputFields):
    """What a model returns.

    sequence: (B, T, D) per-step features, or None when not requested. For a causal
              model, sequence[:, t] depends only on inputs[:, :t+1].
    pooled:   (B, D) one vector per sequence (computed from its true length), or None.
    state:    recurrent state to pass back as `state=` on the next consecutive window
              (stateful language modelling); the core detaches it between windows.

    Deprecated: the former fourth field `hidden` was never read. Passing it (by keyword
    or as a fourth positional argument) still works for plugins written against
    rnnbench 0.1, with a DeprecationWarning, and is dropped; reading `.hidden` warns
    and gives None. Both go in rnnbench 0.3.
    """

    __slots__ = ()

    def __new__(
        cls,
        sequence: torch.Tensor | None = None,
        pooled: torch.Tensor | None = None,
        state: Any = None,
        hidden: Any = _NOT_GIVEN,
    ) -> ModelOutput:
        if hidden is not _NOT_GIVEN:
            import warnings

            warnings.warn(_HIDDEN_DEPRECATED, DeprecationWarning, stacklevel=2)
        return super().__new__(cls, sequence, pooled, state)

    @property
    def hidden(self) -> None:
        import warnings

        warnings.warn(_HIDDEN_DEPRECATED, DeprecationWarning, stacklevel=2)
        return None
