"""Exceptions kerasadv raises for bad input, each naming the bad value and the expected one."""


class KerasAdvError(ValueError):
    """Base class of kerasadv's input errors (a `ValueError`, so generic handlers still work)."""


class BackendError(KerasAdvError, ImportError):
    """Keras runs on a backend other than TensorFlow (kerasadv's attacks and training need TensorFlow)."""


class DataSourceError(KerasAdvError):
    """A data source string, path, archive or split cannot be loaded."""


class DataNotAvailableError(DataSourceError):
    """The data set exists but is not on this machine and cannot be downloaded now."""


class ModelError(KerasAdvError):
    """A model name, weights option or model output cannot be used."""


class AttackInputError(KerasAdvError):
    """Images, labels or hyper-parameters given to an attack are invalid."""


class RecipeError(KerasAdvError):
    """A training recipe (a name, a config, or a training wrapper's hyper-parameter) is invalid."""


class AttackContractError(KerasAdvError, AssertionError):
    """An attack breaks the protocol `kerasadv.testing.check_attack` checks (an `AssertionError` too)."""


class StorageError(KerasAdvError):
    """Writing an artifact failed for lack of space (or quota); what was written before is intact."""


class CertificationError(KerasAdvError):
    """A randomized-smoothing parameter (sigma, sample counts, alpha) or its input is invalid."""


class ExampleCountError(KerasAdvError):
    """A distributed job wrote or counted another number of examples than it read: an engine lost or duplicated work."""
