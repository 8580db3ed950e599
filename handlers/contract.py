"""The contract between the jobs that deploy the stack and the functions that serve it.

The names the functions read (their environment variables), where the data they read sits in the
bucket, and the format of the embedding index are defined here once. `jobs` imports this module to
configure the functions and to write what they read; Terraform receives the same names from the
variables file `jobs` generates. Standard library only: it is zipped with the handlers.
"""

from __future__ import annotations

# -- the functions' environment variables -------------------------------------------------------------
BUCKET_NAME = "BUCKET_NAME"
DATA_PREFIX = "DATA_PREFIX"  # where ua.base and u.item are (recommendation engine)
INDEX_PREFIX = "INDEX_PREFIX"  # where the embedding index is (movie retrieval)
ENDPOINT_NAME_RATING = "ENDPOINT_NAME_RATING"
ENDPOINT_NAME_REC = "ENDPOINT_NAME_REC"
ENDPOINT_NAME_TOPN = "ENDPOINT_NAME_TOPN"
ENDPOINT_NAME = "ENDPOINT_NAME"  # movie retrieval: the endpoint whose embeddings the index holds
DEPENDENCY_TIMEOUT_SECONDS = "DEPENDENCY_TIMEOUT_SECONDS"
INDEX_REFRESH_SECONDS = "INDEX_REFRESH_SECONDS"
# The workshop README's misspellings, still accepted so its console set-up keeps working.
WORKSHOP_SPELLINGS = {
    ENDPOINT_NAME_RATING: "ENDPOINT_NANE_RATING",
    ENDPOINT_NAME_REC: "ENDPOINT_NANE_REC",
    ENDPOINT_NAME: "ENDPOINT_NANE",
}

# -- the data the functions read ---------------------------------------------------------------------
DEFAULT_DATA_PREFIX = "object2vec/movielens/ml-100k"
DEFAULT_INDEX_PREFIX = "object2vec/movielens/index"
TITLES_FILE = "u.item"  # the catalog: ISO-8859-1, `id|title|...`
RATINGS_FILE = "ua.base"  # who rated what: `user<TAB>item<TAB>rating<TAB>timestamp`
DATA_FILES = (RATINGS_FILE, TITLES_FILE)


def data_key(data_prefix: str, name: str) -> str:
    return f"{data_prefix}/{name}"


# -- the embedding index ------------------------------------------------------------------------------
# `<index prefix>/<endpoint>/current.json` points at
# `<index prefix>/<endpoint>/<model version>/embeddings.npz`
# (the pointer is written last, so a function switches only once the whole index is in place).
INDEX_FORMAT_VERSION = 1
NPZ_MOVIE_IDS = "movie_ids"  # (n,) int32: the movies that have an embedding
NPZ_EMBEDDINGS = "embeddings"  # (n, d) float32
NPZ_CATALOG_IDS = "catalog_ids"  # (m,) int32: every catalog movie, embedded or not
NPZ_CATALOG_TITLES = "catalog_titles"  # (m,) str: their titles
POINTER_INDEX_KEY = "index_key"
POINTER_MODEL_VERSION = "model_version"


def index_prefix_of(index_prefix: str, endpoint: str) -> str:
    return f"{index_prefix}/{endpoint}/"


def index_pointer_key(index_prefix: str, endpoint: str) -> str:
    return f"{index_prefix_of(index_prefix, endpoint)}current.json"


def index_object_key(index_prefix: str, endpoint: str, model_version: str) -> str:
    return f"{index_prefix_of(index_prefix, endpoint)}{model_version}/embeddings.npz"
