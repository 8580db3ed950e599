"""Genre pseudo-users: what the top-N model learns movies' genres from, without changing what it serves.

Object2Vec encodes a movie by its id only, so two films of a genre end up near each other only as far as
the same people watched them. The implicit task's train channel therefore also holds, for each genre, a
pseudo-user (an `in0` id past the last real user) who has watched every training movie of that genre:
one positive row per (genre, movie). The model learns one more "taste" per genre, which the movies of
that genre share: that is what retrieval's nearest neighbours are judged on (benchmarks/results/model.md).
The wire format stays the workshop's (`in0: [user]`, `in1: [movie]`); only `enc0_vocab_size` grows by the
number of genres, so the same channels and hyperparameters train SageMaker's built-in algorithm too.
Held-out figures and baselines leave the pseudo-users out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from jobs.channels.manifest import GenreUsers
from jobs.movielens.movies import Movies
from jobs.movielens.ratings import Ratings

# Not genres: ml-100k's "unknown" flag and the CSV releases' "(no genres listed)".
NOT_GENRES = frozenset({"unknown", "(no genres listed)"})


def genre_user_rows(movies: Movies, items: NDArray[np.int32], first_id: int) -> tuple[Ratings, GenreUsers]:
    """One positive row per (genre, movie) for the distinct movies of `items`; pseudo-user ids from
    `first_id`, genres in name order."""
    genres = sorted({genre for movie in movies.movies for genre in movie.genres} - NOT_GENRES)
    index = {genre: i for i, genre in enumerate(genres)}
    by_id = movies.by_id
    users: list[int] = []
    watched: list[int] = []
    for item in np.unique(items).tolist():
        movie = by_id.get(item)
        for genre in movie.genres if movie else ():
            if genre in index:
                users.append(first_id + index[genre])
                watched.append(item)
    count = len(users)
    rows = Ratings.from_columns(users, watched, np.ones(count), np.zeros(count))
    return rows, GenreUsers(first_id, tuple(genres), count)
