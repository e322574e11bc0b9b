"""What every contract check shares: the tiny random inputs' sizes and the error a
broken promise raises (an AssertionError, so that pytest shows it as a failure)."""

VOCAB = 13  # token ids 0..12, 0 the padding id
FEATURES = 3  # feature size F of feature inputs
PAD = 0  # the padding token id


class ContractError(AssertionError):
    """A spec breaks the model or task contract: names the spec, the input kind and the
    broken promise."""
