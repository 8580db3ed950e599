"""Which model server runs a model: a tiny registry `image pattern → loader`, like SageMaker picking
the serving container from `PrimaryContainer.Image`.

A loader takes the model artifact (model.tar.gz) and a torch thread count and returns an object with
`invoke(body, content_type, accept) -> (body, content_type)`. A bad request raises `ModelRequestError`,
which the runtime turns into SageMaker's 424 ModelError. Object2Vec is registered by default; tests
(and `CloudConfig.model_servers`) add others as "PATTERN=module:function".
"""

from __future__ import annotations

import fnmatch
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from localcloud.errors import LocalCloudError


class InferenceModel(Protocol):
    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]: ...


class ModelRequestError(Exception):
    """The model refused the request (what a container answers with a 4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


Loader = Callable[[Path, int], InferenceModel]


@dataclass(frozen=True)
class ModelServer:
    pattern: str
    load: Loader


class Object2VecServer:
    """Adapter over `object2vec.serving.Predictor` (imported lazily: torch takes a second to import)."""

    def __init__(self, artifact: Path, threads: int) -> None:
        from object2vec import serving

        self._request_error = serving.RequestError
        self._predictor = serving.Predictor.load(artifact, threads=threads)

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        try:
            return self._predictor.invoke(body, content_type, accept)
        except self._request_error as exc:
            raise ModelRequestError(str(exc), getattr(exc, "status", 400)) from exc


OBJECT2VEC = ModelServer("*/object2vec:*", Object2VecServer)


class ModelServerRegistry:
    """Patterns are tried newest first, so a registered server can shadow the default one."""

    def __init__(self) -> None:
        self._servers: list[ModelServer] = [OBJECT2VEC]
        self._lock = threading.Lock()

    def register(self, pattern: str, load: Loader) -> None:
        with self._lock:
            self._servers.insert(0, ModelServer(pattern, load))

    def register_spec(self, spec: str) -> None:
        """Register "PATTERN=module:function"."""
        pattern, sep, target = spec.partition("=")
        module_name, colon, attr = target.partition(":")
        if not (sep and colon and pattern and module_name and attr):
            raise LocalCloudError(f"model server {spec!r} must look like 'IMAGE_PATTERN=module:function'")
        try:
            load = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise LocalCloudError(f"model server {spec!r}: cannot import {target}: {exc}") from exc
        self.register(pattern, load)

    def find(self, image: str) -> ModelServer | None:
        with self._lock:
            return next((s for s in self._servers if fnmatch.fnmatchcase(image, s.pattern)), None)
