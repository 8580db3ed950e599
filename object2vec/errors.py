"""The package's exceptions. Every message is one line naming what was wrong and where."""


class Object2VecError(Exception):
    """Base of every error this package raises on purpose."""


class HyperparameterError(Object2VecError):
    """An unknown, missing, malformed or out-of-range hyperparameter (raised before any training)."""


class ChannelError(Object2VecError):
    """A channel that cannot be used: missing, empty, or a bad line (the message names file:line)."""


class TrainingError(Object2VecError):
    """Training could not produce a usable model."""


class NonFiniteLossError(TrainingError):
    """The loss became NaN or infinite; nothing is saved (lower learning_rate or check the labels)."""


class ArtifactError(Object2VecError):
    """A model.tar.gz (or its extracted folder) that is missing, corrupt or of an unknown format."""


class RequestError(Object2VecError):
    """A bad inference request; the endpoint turns it into SageMaker's ModelError."""
