"""Every class of corruption fails with one line naming the file, the line and the value, and
nothing is written: `prepare_channels` is run on each corrupt copy and the output folder must not
exist afterwards."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.channels import PrepareConfig, prepare_channels
from jobs.movielens import LAYOUTS, DataError, ParseError, SourceSettings, describe_dataset, parse_ratings

pytestmark = pytest.mark.usefixtures("isolated_movielens_env")

DATASET_OF_LAYOUT = {"ml-100k": "ml-100k", "ml-1m": "ml-1m", "csv": "ml-latest-small"}


@dataclass(frozen=True)
class Corruption:
    layout: str
    file: str
    edit: Callable[[bytes], bytes]
    message: str


def set_line(number: int, text: str, encoding: str = "latin-1") -> Callable[[bytes], bytes]:
    """Replace 1-based line `number` with `text`."""

    def edit(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[number - 1] = text.encode(encoding)
        return b"\n".join(lines)

    return edit


def insert_line(number: int, text: bytes) -> Callable[[bytes], bytes]:
    """Insert raw `text` so that it becomes line `number`."""

    def edit(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines.insert(number - 1, text)
        return b"\n".join(lines)

    return edit


CORRUPTIONS = {
    # ml-100k: u.data (tab-separated); the fixture's line 3 is "31\t8\t4\t880000202".
    "wrong column count": Corruption(
        "ml-100k",
        "u.data",
        set_line(3, "31\t8\t4"),
        "u.data:3: expected 4 tab-separated fields, found 3 in '31\\t8\\t4'",
    ),
    "extra column": Corruption(
        "ml-100k",
        "u.data",
        set_line(3, "31\t8\t4\t880000202\t9"),
        "u.data:3: expected 4 tab-separated fields, found 5 in '31\\t8\\t4\\t880000202\\t9'",
    ),
    "non-integer user id": Corruption(
        "ml-100k",
        "u.data",
        set_line(2, "3x\t11\t1\t880000203"),
        "u.data:2: user id '3x' is not an integer in 1..2147483647",
    ),
    "zero movie id": Corruption(
        "ml-100k", "u.data", set_line(4, "31\t0\t3\t880000201"), "u.data:4: movie id '0' is not positive"
    ),
    "rating out of range": Corruption(
        "ml-100k", "u.data", set_line(5, "12\t42\t7\t880000104"), "u.data:5: rating '7' is outside 1..5"
    ),
    "fractional rating in an integer layout": Corruption(
        "ml-100k",
        "ua.base",
        set_line(2, "7\t5\t3.5\t880000002"),
        "ua.base:2: rating '3.5' is not an integer in 1..5",
    ),
    "non-integer timestamp": Corruption(
        "ml-100k",
        "ua.test",
        set_line(2, "12\t3\t1\tyesterday"),
        "ua.test:2: timestamp 'yesterday' is not an integer",
    ),
    "blank line": Corruption(
        "ml-100k", "u.data", insert_line(5, b""), "u.data:5: blank line inside the data"
    ),
    "blank line before a bad value": Corruption(
        "ml-100k",
        "u.data",
        lambda data: set_line(9, "7\t8\t9\t1")(insert_line(3, b"")(data)),
        "u.data:3: blank line inside the data",
    ),
    "u.item re-encoded as UTF-8": Corruption(
        "ml-100k",
        "u.item",
        lambda data: data.decode("latin-1").encode("utf-8"),
        "u.item:1: text is UTF-8 but this layout is latin-1 (a re-encoded copy?): "
        "'3|Le VÃ©lo Rouge (1994)|01-Jan-1994||http://example.invalid…'",
    ),
    "u.item wrong field count": Corruption(
        "ml-100k",
        "u.item",
        set_line(2, "5|Short Line (1996)|x"),
        "u.item:2: expected 24 '|'-separated fields, found 3 in '5|Short Line (1996)|x'",
    ),
    "u.item repeated id": Corruption(
        "ml-100k",
        "u.item",
        set_line(4, "3|Again (1995)|01-Jan-1995||http://example.invalid/3" + "|0" * 19),
        "u.item:4: movie id 3 repeats line 1",
    ),
    # ml-1m: `::` separators.
    "ml-1m extra field": Corruption(
        "ml-1m",
        "ratings.dat",
        set_line(2, "2::14::3::956700002::1"),
        "ratings.dat:2: expected 4 '::'-separated fields, found 5 in '2::14::3::956700002::1'",
    ),
    "ml-1m single colon": Corruption(
        "ml-1m",
        "ratings.dat",
        set_line(6, "9::14:4::956700103"),
        "ratings.dat:6: expected 4 '::'-separated fields, found 3 in '9::14:4::956700103'",
    ),
    "ml-1m movie line": Corruption(
        "ml-1m",
        "movies.dat",
        set_line(2, "14::Paper Lanterns (1995)"),
        "movies.dat:2: expected 3 '::'-separated fields, found 2 in '14::Paper Lanterns (1995)'",
    ),
    # CSV layout.
    "bad ratings header": Corruption(
        "csv",
        "ratings.csv",
        set_line(1, "user,movie,rating,timestamp"),
        "ratings.csv:1: header 'user,movie,rating,timestamp' is not 'userId,movieId,rating,timestamp'",
    ),
    "off-step rating": Corruption(
        "csv",
        "ratings.csv",
        set_line(3, "1,205,4.3,1500000002"),
        "ratings.csv:3: rating '4.3' is outside 0.5..5.0 in steps of 0.5",
    ),
    "zero rating": Corruption(
        "csv",
        "ratings.csv",
        set_line(9, "6,411,0.0,1500000202"),
        "ratings.csv:9: rating '0.0' is outside 0.5..5.0 in steps of 0.5",
    ),
    "nan rating": Corruption(
        "csv",
        "ratings.csv",
        set_line(4, "1,307,nan,1500000003"),
        "ratings.csv:4: rating 'nan' is outside 0.5..5.0 in steps of 0.5",
    ),
    "not a number rating": Corruption(
        "csv",
        "ratings.csv",
        set_line(4, "1,307,good,1500000003"),
        "ratings.csv:4: rating 'good' is not a number",
    ),
    "negative timestamp": Corruption(
        "csv", "ratings.csv", set_line(5, "4,101,5.0,-7"), "ratings.csv:5: timestamp '-7' is negative"
    ),
    "bad utf-8 in ratings": Corruption(
        "csv",
        "ratings.csv",
        set_line(6, "4,4\xff1,2.5,1500000102", "latin-1"),
        "ratings.csv:6: byte 0xff is not valid utf-8 in '4,4ÿ1,2.5,1500000102'",
    ),
    "latin-1 byte in utf-8 movies": Corruption(
        "csv",
        "movies.csv",
        set_line(3, "205,Café (2011),Comedy", "latin-1"),
        "movies.csv:3: byte 0xe9 is not valid utf-8 in '205,Café (2011),Comedy'",
    ),
    "bad movies header": Corruption(
        "csv",
        "movies.csv",
        set_line(1, "id,title,genres"),
        "movies.csv:1: header 'id,title,genres' is not 'movieId,title,genres'",
    ),
    "unquoted comma in a title": Corruption(
        "csv",
        "movies.csv",
        set_line(2, "101,Tables, Chairs (2003),Comedy"),
        "movies.csv:2: expected 3 comma-separated fields, found 4 in '101,Tables, Chairs (2003),Comedy'",
    ),
    "blank line in movies": Corruption(
        "csv", "movies.csv", insert_line(3, b""), "movies.csv:3: blank line inside the data"
    ),
    "extra field after a quoted title": Corruption(
        "csv",
        "movies.csv",
        set_line(4, '307,"Storm, Interrupted (2015)",Action,Thriller'),
        "movies.csv:4: expected 3 comma-separated fields, found 4 in "
        "'307,\"Storm, Interrupted (2015)\",Action,Thriller'",
    ),
    # Cross-checks: every rated movie is in the movies file, one rating per (user, movie).
    "rated movie missing from u.item": Corruption(
        "ml-100k", "u.data", set_line(5, "12\t999\t2\t880000104"), "u.data:5: movie id 999 is not in u.item"
    ),
    "rated movie id past every id in u.item": Corruption(
        "ml-100k",
        "u.data",
        set_line(5, "12\t2147483647\t2\t880000104"),
        "u.data:5: movie id 2147483647 is not in u.item",
    ),
    "split rates a movie missing from u.item": Corruption(
        "ml-100k", "ua.test", set_line(2, "12\t77\t1\t880000101"), "ua.test:2: movie id 77 is not in u.item"
    ),
    "rated movie missing from movies.dat": Corruption(
        "ml-1m",
        "ratings.dat",
        set_line(7, "15::99::5::956700201"),
        "ratings.dat:7: movie id 99 is not in movies.dat",
    ),
    "rated movie missing from movies.csv (line counts the header)": Corruption(
        "csv",
        "ratings.csv",
        set_line(3, "1,206,3.0,1500000002"),
        "ratings.csv:3: movie id 206 is not in movies.csv",
    ),
    "repeated pair in u.data": Corruption(
        "ml-100k",
        "u.data",
        set_line(7, "12\t42\t4\t880000102"),
        "u.data:7: (user 12, movie 42) repeats line 5",
    ),
    "repeated pair in ratings.dat": Corruption(
        "ml-1m",
        "ratings.dat",
        set_line(8, "9::10::3::956700202"),
        "ratings.dat:8: (user 9, movie 10) repeats line 4",
    ),
    "repeated pair in ratings.csv": Corruption(
        "csv",
        "ratings.csv",
        set_line(5, "1,101,5.0,1500000101"),
        "ratings.csv:5: (user 1, movie 101) repeats line 2",
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_fails_with_one_line_and_writes_nothing(
    name: str, layout_copy, tmp_path: Path, offline_settings: SourceSettings
) -> None:
    corruption = CORRUPTIONS[name]
    folder = layout_copy(corruption.layout)
    path = folder / corruption.file
    path.write_bytes(corruption.edit(path.read_bytes()))
    out = tmp_path / "out"
    config = PrepareConfig(
        dataset=DATASET_OF_LAYOUT[corruption.layout],
        source=folder,
        out_dir=out,
        validation_per_user=1,
        test_per_user=1,
    )
    with pytest.raises(ParseError) as caught:
        prepare_channels(config, offline_settings)
    assert str(caught.value) == corruption.message
    assert "\n" not in str(caught.value)
    assert not out.exists()


def test_trailing_blank_lines_are_accepted(layout_copy) -> None:
    folder = layout_copy("ml-100k")
    path = folder / "u.data"
    path.write_bytes(path.read_bytes() + b"\n\n\r\n")
    assert len(parse_ratings(path, LAYOUTS["ml-100k"])) == 12


def test_file_starting_with_a_blank_line_is_rejected(layout_copy) -> None:
    folder = layout_copy("ml-1m")
    path = folder / "ratings.dat"
    path.write_bytes(b"\n" + path.read_bytes())
    with pytest.raises(ParseError, match=r"^ratings\.dat:1: blank line inside the data$"):
        parse_ratings(path, LAYOUTS["ml-1m"])


def test_empty_ratings_file_is_rejected(layout_copy) -> None:
    folder = layout_copy("csv")
    path = folder / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(ParseError, match=r"^ratings\.csv:2: no ratings in the file$"):
        parse_ratings(path, LAYOUTS["csv"])


def test_huge_id_is_reported_not_wrapped(layout_copy) -> None:
    folder = layout_copy("ml-100k")
    path = folder / "u.data"
    path.write_bytes(set_line(1, "99999999999\t20\t5\t880000204")(path.read_bytes()))
    with pytest.raises(
        DataError, match=r"^u\.data:1: user id '99999999999' is not an integer in 1\.\.2147483647$"
    ):
        parse_ratings(path, LAYOUTS["ml-100k"])


def test_error_line_numbers_survive_large_files(tmp_path: Path) -> None:
    """Past numpy's and our own block sizes, the reported line is still the file's line."""
    rows = [f"{1 + i % 900}\t{1 + i % 1500}\t{1 + i % 5}\t{880000000 + i}" for i in range(300_000)]
    rows[271_828] = "5\t6\t0\t880000000"
    path = tmp_path / "u.data"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ParseError, match=r"^u\.data:271829: rating '0' is outside 1\.\.5$"):
        parse_ratings(path, LAYOUTS["ml-100k"])


def test_the_earliest_repeat_in_the_file_is_reported(tmp_path: Path) -> None:
    """Line 4 repeats line 2 before line 5 repeats line 1, though (2, 2) sorts before (5, 1)."""
    path = tmp_path / "u.data"
    path.write_text("2\t2\t1\t1\n5\t1\t1\t2\n3\t3\t1\t3\n5\t1\t2\t4\n2\t2\t2\t5\n5\t1\t3\t6\n")
    with pytest.raises(ParseError, match=r"^u\.data:4: \(user 5, movie 1\) repeats line 2$"):
        parse_ratings(path, LAYOUTS["ml-100k"])


def test_same_movie_for_many_users_and_many_movies_for_one_user_are_fine(tmp_path: Path) -> None:
    """Only the pair must be unique: the packed key keeps user and movie apart (no 31-bit overlap)."""
    path = tmp_path / "u.data"
    path.write_text("1\t2147483647\t1\t1\n2147483647\t1\t1\t1\n1\t1\t1\t1\n2147483647\t2147483647\t1\t1\n")
    assert len(parse_ratings(path, LAYOUTS["ml-100k"])) == 4


def test_unreadable_movies_file_is_one_line(
    layout_copy, offline_settings: SourceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = layout_copy("ml-1m")
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:  # chmod does not stop root, so refuse the way the OS would
        if self.name == "movies.dat":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    config = PrepareConfig(dataset="ml-1m", source=folder, out_dir=folder.parent / "out")
    with pytest.raises(DataError) as caught:
        prepare_channels(config, offline_settings)
    assert str(caught.value) == f"{folder / 'movies.dat'}: cannot read (Permission denied)"
    assert not (folder.parent / "out").exists()


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_stats_refuses_exactly_what_prepare_refuses(
    name: str, layout_copy, offline_settings: SourceSettings
) -> None:
    # One loader and one validation for every command: `o2v data stats` used to count a rating of a movie
    # the movies file lacks (611 users, max movie id 999,999) while `prepare` refused it.
    corruption = CORRUPTIONS[name]
    folder = layout_copy(corruption.layout)
    path = folder / corruption.file
    path.write_bytes(corruption.edit(path.read_bytes()))
    with pytest.raises(ParseError) as caught:
        describe_dataset(DATASET_OF_LAYOUT[corruption.layout], folder, settings=offline_settings)
    assert str(caught.value) == corruption.message
