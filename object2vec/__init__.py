"""A faithful PyTorch implementation of SageMaker's built-in Object2Vec algorithm, trained on CPU.

from object2vec import Predictor, profile_hyperparameters, train
result = train(profile_hyperparameters("rating", vocab), {"train": Path(...), "validation": Path(...)}, out)
body, content_type = Predictor.load(result.model_path).invoke(b'{"instances": [...]}', "application/json")
"""

from object2vec.errors import (
    ArtifactError,
    ChannelError,
    HyperparameterError,
    NonFiniteLossError,
    Object2VecError,
    RequestError,
    TrainingError,
)
from object2vec.hyperparameters import Hyperparameters
from object2vec.profiles import PROFILES, profile_hyperparameters
from object2vec.serving import Predictor
from object2vec.train import TrainResult, train

__all__ = [
    "PROFILES",
    "ArtifactError",
    "ChannelError",
    "HyperparameterError",
    "Hyperparameters",
    "NonFiniteLossError",
    "Object2VecError",
    "Predictor",
    "RequestError",
    "TrainResult",
    "TrainingError",
    "profile_hyperparameters",
    "train",
]
