"""Build the movie-embedding index the retrieval function serves from.

Run at deploy time: it asks the endpoint once for every trained movie's embedding (`in1` only, in
batches) and stores an `.npz` tagged with the model version, then updates the pointer the function
watches. Keys and format are `handlers.contract`'s; `handlers/embedding_index.py` reads them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from handlers import contract
from jobs.stack.errors import StackError
from jobs.stack.names import Stack
from jobs.stack.registry import ModelRecord

MAX_BATCH = 500
# A real endpoint's answer may not exceed 6 MB; an embedding costs about 22 bytes of JSON per float
# (2048-float workshop embeddings: 45 KB each), so a request asks for at most ~4 MB of them.
RESPONSE_BUDGET_BYTES = 4_000_000
JSON_BYTES_PER_FLOAT = 22
DEFAULT_ENC_DIM = 4096  # SageMaker's default, for records that do not say


@dataclass(frozen=True)
class IndexInfo:
    model_version: str
    index_key: str
    pointer_key: str
    movies: int
    dim: int


def batch_size(enc_dim: int) -> int:
    return max(1, min(MAX_BATCH, RESPONSE_BUDGET_BYTES // (enc_dim * JSON_BYTES_PER_FLOAT)))


def fetch_embeddings(runtime: Any, endpoint: str, movie_ids: np.ndarray, batch: int) -> np.ndarray:
    chunks = []
    for start in range(0, len(movie_ids), batch):
        batch_ids = movie_ids[start : start + batch]
        body = json.dumps({"instances": [{"in1": [int(m)]} for m in batch_ids]})
        response = runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="application/json", Accept="application/json", Body=body
        )
        predictions = json.loads(response["Body"].read())["predictions"]
        if len(predictions) != len(batch_ids):
            raise StackError(
                f"endpoint {endpoint} returned {len(predictions)} embeddings for {len(batch_ids)} movies"
            )
        chunks.append(np.asarray([p["embeddings"] for p in predictions], dtype=np.float32))
    return np.concatenate(chunks)


def build_index(
    runtime: Any,
    s3: Any,
    stack: Stack,
    record: ModelRecord,
    movie_ids: np.ndarray,
    catalog: dict[int, str],
) -> IndexInfo:
    """Embed `movie_ids` through the deployed endpoint and publish the index for `record`'s version."""
    endpoint = stack.retrieval_endpoint
    movie_ids = np.unique(movie_ids).astype(np.int32)
    enc_dim = int(record.hyperparameters.get("enc_dim", DEFAULT_ENC_DIM))
    embeddings = fetch_embeddings(runtime, endpoint, movie_ids, batch_size(enc_dim))
    catalog_ids = np.array(sorted(catalog), dtype=np.int32)
    buffer = io.BytesIO()
    arrays = {
        contract.NPZ_MOVIE_IDS: movie_ids,
        contract.NPZ_EMBEDDINGS: embeddings,
        contract.NPZ_CATALOG_IDS: catalog_ids,
        contract.NPZ_CATALOG_TITLES: np.array([catalog[int(i)] for i in catalog_ids]),
    }
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    index_key = contract.index_object_key(stack.index_prefix, endpoint, record.model_version)
    s3.put_object(Bucket=stack.bucket, Key=index_key, Body=buffer.getvalue())
    pointer_key = contract.index_pointer_key(stack.index_prefix, endpoint)
    info = IndexInfo(record.model_version, index_key, pointer_key, len(movie_ids), embeddings.shape[1])
    pointer = {
        "format_version": contract.INDEX_FORMAT_VERSION,
        "endpoint_name": endpoint,
        contract.POINTER_MODEL_VERSION: info.model_version,
        contract.POINTER_INDEX_KEY: index_key,
        "movies": info.movies,
        "dim": info.dim,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # The pointer goes last: the function switches only once the whole index is in place.
    s3.put_object(Bucket=stack.bucket, Key=info.pointer_key, Body=json.dumps(pointer, indent=2).encode())
    return info


def rebuild_for(runtime: Any, s3: Any, stack: Stack, record: ModelRecord) -> IndexInfo | None:
    """Re-embed the current index's movies (same catalog) with `record`, the retrieval endpoint's newly
    deployed package (after an approval or a rollback). None if there is no index yet, or it already
    belongs to `record`."""
    pointer_key = contract.index_pointer_key(stack.index_prefix, stack.retrieval_endpoint)
    try:
        pointer = json.loads(s3.get_object(Bucket=stack.bucket, Key=pointer_key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    if pointer[contract.POINTER_MODEL_VERSION] == record.model_version:
        return None
    raw = s3.get_object(Bucket=stack.bucket, Key=pointer[contract.POINTER_INDEX_KEY])["Body"].read()
    with np.load(io.BytesIO(raw)) as current:
        movie_ids = current[contract.NPZ_MOVIE_IDS]
        catalog = dict(
            zip(
                current[contract.NPZ_CATALOG_IDS].tolist(),
                current[contract.NPZ_CATALOG_TITLES].tolist(),
                strict=True,
            )
        )
    return build_index(runtime, s3, stack, record, movie_ids, catalog)
