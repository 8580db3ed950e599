"""The stack's names: the one place the bucket, keys, functions, endpoints and roles are named.

Everything that creates, calls or deletes a resource takes these names from a `Stack`, so the local
backend, the AWS backend and the Terraform that declares the AWS resources cannot drift apart (Terraform
gets them from a variables file generated from this module). The names the functions themselves read
(environment variables, where their data sits) come from `handlers.contract`. The defaults are the
workshop's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers import contract
from jobs.movielens.catalog import dataset_info
from jobs.movielens.layouts import LAYOUTS, RatingScale

DEFAULT_BUCKET = "rec-engine-workshop-local"


@dataclass(frozen=True)
class ModelSlot:
    """One deployed model: the task its channels come from, the profile it trains with, its endpoint."""

    task: str
    profile: str
    endpoint: str


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its handler in handlers/, sizing, and which events/ folder tests it."""

    name: str
    handler: str
    events_folder: str
    timeout: int
    memory_size: int


@dataclass(frozen=True)
class Stack:
    bucket: str = DEFAULT_BUCKET
    dataset: str = contract.DEFAULT_DATASET
    protocol: str = "holdout"
    input_prefix: str = "object2vec/movielens/input"
    output_prefix: str = "object2vec/movielens/output"
    registry_prefix: str = "object2vec/movielens/registry"
    index_prefix: str = contract.DEFAULT_INDEX_PREFIX
    function_role_name: str = "Lambda_ServerlessWorkshop_Role"
    training_role_name: str = "Object2Vec_Training_Role"
    rating: ModelSlot = ModelSlot("rating", "rating", "ratingModel")
    recommendation: ModelSlot = ModelSlot("recommendation", "recommendation", "recommendationModel")
    top_n: ModelSlot = ModelSlot("implicit", "implicit", "topNModel")
    recommendation_function: FunctionSpec = FunctionSpec(
        "Recommendation_Engine_Object2Vec",
        "handlers.recommendation_engine.lambda_handler",
        "recommendation_engine",
        30,
        256,
    )
    # The workshop sized retrieval at 512 MB because it rebuilt everything per call; the index needs far less.
    retrieval_function: FunctionSpec = FunctionSpec(
        "Movie_Retrieval_Object2Vec", "handlers.movie_retrieval.lambda_handler", "movie_retrieval", 30, 256
    )
    extra_function_env: dict[str, str] = field(default_factory=dict)
    # Hyperparameters set on top of every slot's profile (tests train for two epochs this way).
    training_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> tuple[ModelSlot, ...]:
        return (self.rating, self.recommendation, self.top_n)

    @property
    def functions(self) -> tuple[FunctionSpec, ...]:
        return (self.recommendation_function, self.retrieval_function)

    @property
    def retrieval_endpoint(self) -> str:
        """Whose movie embeddings the retrieval index is built from. The workshop used the recommendation
        classifier; the top-N model's embeddings group movies far better (movies watched together, and
        genres through its pseudo-users: 75-77 % of the 10 nearest neighbours share a genre, random
        vectors 40 %; benchmarks/results/model.md), so retrieval uses it."""
        return self.top_n.endpoint

    @property
    def data_prefix(self) -> str:
        """Where the functions read the release's ratings and titles: a prefix per release, so that
        switching DATASET never leaves one release's titles beside another's models."""
        return contract.data_prefix_of(self.dataset)

    @property
    def rating_scale(self) -> RatingScale:
        return LAYOUTS[dataset_info(self.dataset).layout].scale

    def function_environment(self, function: FunctionSpec) -> dict[str, str]:
        common = {contract.BUCKET_NAME: self.bucket, **self.extra_function_env}
        if function == self.recommendation_function:
            scale = self.rating_scale
            return {
                **common,
                contract.ENDPOINT_NAME_RATING: self.rating.endpoint,
                contract.ENDPOINT_NAME_REC: self.recommendation.endpoint,
                contract.ENDPOINT_NAME_TOPN: self.top_n.endpoint,
                contract.DATA_PREFIX: self.data_prefix,
                contract.DATASET: self.dataset,
                contract.RATING_MIN: f"{scale.low:g}",
                contract.RATING_MAX: f"{scale.high:g}",
                contract.TITLES_ENCODING: self.titles_encoding,
            }
        return {
            **common,
            contract.ENDPOINT_NAME: self.retrieval_endpoint,
            contract.INDEX_PREFIX: self.index_prefix,
        }

    @property
    def serves_files_as_shipped(self) -> bool:
        """ml-100k is served from the workshop's own ua.base and u.item; jobs write any other release's."""
        return self.dataset == contract.DEFAULT_DATASET

    @property
    def titles_encoding(self) -> str:
        """The workshop's u.item is ISO-8859-1; the titles jobs write are UTF-8."""
        return contract.DEFAULT_TITLES_ENCODING if self.serves_files_as_shipped else "utf-8"

    def data_key(self, name: str) -> str:
        return contract.data_key(self.data_prefix, name)

    def input_key(self, task: str, channel: str, filename: str) -> str:
        return f"{self.input_prefix}/{task}/{channel}/{filename}"

    def input_uri(self, task: str, channel: str) -> str:
        """The S3 prefix a training job reads one channel from: the folder `input_key` uploads into."""
        return f"s3://{self.bucket}/{self.input_key(task, channel, '')}"

    @property
    def output_uri(self) -> str:
        return f"s3://{self.bucket}/{self.output_prefix}"
