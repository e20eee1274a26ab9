"""Numbers used in several modules, named once."""

TINY = 1e-12
"""Floor added to norms and ranges before dividing by them."""

DEFAULT_BATCH_SIZE = 256
"""Batch size of streaming helpers (attacks, evaluation, analyses) when the data are arrays."""

DEFAULT_LINF_EPS = 8 / 255
"""Default Linf radius of attacks built by name (the CIFAR-10 convention)."""

DEFAULT_L2_EPS = 0.5
"""Default L2 radius of attacks built by name (the CIFAR-10 convention)."""
