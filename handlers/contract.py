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
# The release the models were trained on, and its rating scale: predicted ratings are clipped to it
# (ml-100k and ml-1m rate 1-5 in whole stars, the CSV releases 0.5-5 in half stars).
DATASET = "DATASET"
RATING_MIN = "RATING_MIN"
RATING_MAX = "RATING_MAX"
TITLES_ENCODING = "TITLES_ENCODING"  # of the catalog file: the workshop's u.item is ISO-8859-1
# The workshop README's misspellings, still accepted so its console set-up keeps working.
WORKSHOP_SPELLINGS = {
    ENDPOINT_NAME_RATING: "ENDPOINT_NANE_RATING",
    ENDPOINT_NAME_REC: "ENDPOINT_NANE_REC",
    ENDPOINT_NAME: "ENDPOINT_NANE",
}

# The workshop's release, when nothing says otherwise (its console set-up sets none of these).
DEFAULT_DATASET = "ml-100k"
DEFAULT_RATING_MIN = 1.0
DEFAULT_RATING_MAX = 5.0
DEFAULT_TITLES_ENCODING = "iso-8859-1"

# -- the data the functions read ---------------------------------------------------------------------
# Every release is served in the workshop's layout, under a prefix of its own: ml-100k's own ua.base and
# u.item, byte for byte; any other release's ratings and titles written in that layout (titles in UTF-8).
DATA_ROOT = "object2vec/movielens"
DEFAULT_DATA_PREFIX = f"{DATA_ROOT}/{DEFAULT_DATASET}"
DEFAULT_INDEX_PREFIX = f"{DATA_ROOT}/index"
TITLES_FILE = "u.item"  # the catalog: `id|title|...`
RATINGS_FILE = "ua.base"  # who rated what the models learnt from: `user<TAB>item<TAB>rating<TAB>timestamp`
DATA_FILES = (RATINGS_FILE, TITLES_FILE)


def data_prefix_of(dataset: str) -> str:
    return f"{DATA_ROOT}/{dataset}"


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
