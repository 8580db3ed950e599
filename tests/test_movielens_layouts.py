"""Each MovieLens layout is detected and parsed into the right columns, dtypes and movies."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from movielens_fixtures import FIXTURES

from jobs.movielens import LAYOUTS, LayoutError, detect_layout, parse_movies, parse_ratings

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")


@pytest.mark.parametrize(("folder", "layout"), [("ml-100k", "ml-100k"), ("ml-1m", "ml-1m"), ("csv", "csv")])
def test_detect_layout(folder: str, layout: str) -> None:
    assert detect_layout(FIXTURES / folder).name == layout


def test_detect_layout_rejects_an_unrelated_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(LayoutError, match="no MovieLens ratings file found"):
        detect_layout(tmp_path)


def test_detect_layout_names_a_missing_movies_file(layout_copy) -> None:
    folder = layout_copy("ml-1m")
    (folder / "movies.dat").unlink()
    with pytest.raises(LayoutError, match=re.escape("ml-1m layout but movies.dat is missing")):
        detect_layout(folder)


def test_ml100k_ratings_are_columns_with_canonical_dtypes() -> None:
    ratings = parse_ratings(FIXTURES / "ml-100k" / "u.data", LAYOUTS["ml-100k"])
    assert len(ratings) == 12
    assert (ratings.user.dtype, ratings.item.dtype, ratings.rating.dtype, ratings.timestamp.dtype) == (
        np.int32,
        np.int32,
        np.float32,
        np.int64,
    )
    # u.data's first line is "31 20 5 880000204" (the fixture is written in reverse order).
    assert (ratings.user[0], ratings.item[0], ratings.rating[0], ratings.timestamp[0]) == (
        31,
        20,
        5.0,
        880000204,
    )
    assert all(column.flags.c_contiguous for column in (ratings.user, ratings.item, ratings.rating))


def test_ml100k_movies_are_latin1_with_genres_from_u_genre() -> None:
    movies = parse_movies(FIXTURES / "ml-100k", LAYOUTS["ml-100k"])
    assert len(movies) == 7
    assert movies.by_id[3].title == "Le Vélo Rouge (1994)"
    assert movies.by_id[3].genres == ("Comedy", "Drama")
    assert movies.by_id[11].genres == ("Children's", "Sci-Fi")  # u.genre order, not the fixture's
    assert movies.by_id[5].title == "Invented Heist, Part Two (1996)"
    assert movies.ids.tolist() == [3, 5, 8, 11, 20, 42, 50]


def test_ml1m_double_colon_ratings_and_latin1_movies() -> None:
    ratings = parse_ratings(FIXTURES / "ml-1m" / "ratings.dat", LAYOUTS["ml-1m"])
    assert ratings.user.tolist() == [2, 2, 2, 9, 9, 9, 15, 15]
    assert ratings.item.tolist() == [10, 14, 17, 10, 21, 14, 17, 21]
    assert ratings.rating.tolist() == [5, 3, 4, 2, 1, 4, 5, 3]
    assert ratings.timestamp[0] == 956700001
    movies = parse_movies(FIXTURES / "ml-1m", LAYOUTS["ml-1m"])
    assert movies.by_id[10].title == "Été Indien (1992)"
    assert movies.by_id[21].title == "Harbour Lights: Reprise (1990)"  # a single ':' inside a title is fine
    assert movies.by_id[14].genres == ("Animation", "Children's")


def test_csv_half_star_ratings_and_quoted_utf8_titles() -> None:
    ratings = parse_ratings(FIXTURES / "csv" / "ratings.csv", LAYOUTS["csv"])
    assert ratings.rating.tolist() == [4.5, 3.0, 0.5, 5.0, 2.5, 3.5, 4.0, 1.5]
    assert ratings.user.tolist() == [1, 1, 1, 4, 4, 4, 6, 6]
    movies = parse_movies(FIXTURES / "csv", LAYOUTS["csv"])
    assert movies.by_id[101].title == "Tables, Chairs and Other Lies (2003)"
    assert movies.by_id[101].genres == ("Comedy", "Drama")
    assert movies.by_id[205].title == "Naïve Résumé (2011)"
    assert movies.by_id[411].genres == ()  # "(no genres listed)"
    assert len(movies) == 5


def test_ml100k_ua_split_fixture_partitions_u_data() -> None:
    layout = LAYOUTS["ml-100k"]
    whole = parse_ratings(FIXTURES / "ml-100k" / "u.data", layout)
    base = parse_ratings(FIXTURES / "ml-100k" / "ua.base", layout)
    test = parse_ratings(FIXTURES / "ml-100k" / "ua.test", layout)
    assert _pairs(whole) == sorted(_pairs(base) + _pairs(test))


def _pairs(ratings) -> list[tuple[int, int]]:
    return sorted(zip(ratings.user.tolist(), ratings.item.tolist(), strict=True))


def test_crlf_line_endings_parse_like_lf(layout_copy) -> None:
    folder = layout_copy("csv")
    path = folder / "ratings.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    ratings = parse_ratings(path, LAYOUTS["csv"])
    assert len(ratings) == 8
    assert ratings.timestamp[-1] == 1500000202
