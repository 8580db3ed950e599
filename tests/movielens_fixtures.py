"""Tiny invented files in MovieLens' layouts, written to a temporary folder when the tests start.

They are kept as text here, not as files named u.data or ratings.csv, so that nothing in the
repository even looks like MovieLens data (its license forbids redistribution). The rows, ids and
titles are made up; the latin-1 and utf-8 titles with accents and the quoted CSV titles with commas
exercise the parsers' encodings and quoting. `FIXTURES/<layout>/` holds one release per layout:
`ml-100k`, `ml-1m` and `csv`.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import zipfile
from pathlib import Path

# file -> exact bytes (ml-100k and ml-1m are latin-1, the CSV layout utf-8)
FILES: dict[str, bytes] = {
    "csv/movies.csv": (
        b"movieId,title,genres\n"
        b'101,"Tables, Chairs and Other Lies (2003)",Comedy|Drama\n'
        b"205,Na\xc3\xafve R\xc3\xa9sum\xc3\xa9 (2011),Comedy\n"
        b'307,"Storm, Interrupted (2015)",Action|Thriller\n'
        b"411,Untitled Orchard Project (2019),(no genres listed)\n"
        b"512,Unseen Reel (2020),Documentary\n"
    ),
    "csv/ratings.csv": (
        b"userId,movieId,rating,timestamp\n"
        b"1,101,4.5,1500000001\n"
        b"1,205,3.0,1500000002\n"
        b"1,307,0.5,1500000003\n"
        b"4,101,5.0,1500000101\n"
        b"4,411,2.5,1500000102\n"
        b"4,205,3.5,1500000103\n"
        b"6,307,4.0,1500000201\n"
        b"6,411,1.5,1500000202\n"
    ),
    "ml-100k/u.data": (
        b"31\t20\t5\t880000204\n"
        b"31\t11\t1\t880000203\n"
        b"31\t8\t4\t880000202\n"
        b"31\t5\t3\t880000201\n"
        b"12\t42\t2\t880000104\n"
        b"12\t20\t5\t880000103\n"
        b"12\t11\t4\t880000102\n"
        b"12\t3\t1\t880000101\n"
        b"7\t42\t3\t880000004\n"
        b"7\t8\t5\t880000003\n"
        b"7\t5\t2\t880000002\n"
        b"7\t3\t4\t880000001\n"
    ),
    "ml-100k/u.genre": (
        b"unknown|0\n"
        b"Action|1\n"
        b"Adventure|2\n"
        b"Animation|3\n"
        b"Children's|4\n"
        b"Comedy|5\n"
        b"Crime|6\n"
        b"Documentary|7\n"
        b"Drama|8\n"
        b"Fantasy|9\n"
        b"Film-Noir|10\n"
        b"Horror|11\n"
        b"Musical|12\n"
        b"Mystery|13\n"
        b"Romance|14\n"
        b"Sci-Fi|15\n"
        b"Thriller|16\n"
        b"War|17\n"
        b"Western|18\n"
        b"\n"
    ),
    "ml-100k/u.item": (
        b"3|Le V\xe9lo Rouge (1994)|01-Jan-1994||http://example.invalid/3|0|0|0|0|0|1|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
        b"5|Invented Heist, Part Two (1996)|01-Jan-1996||http://example.invalid/5|0|1|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0\n"
        b"8|Quiet Harbour (1997)|01-Jan-1997||http://example.invalid/8|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
        b"11|Nobody's Robot (1995)|01-Jan-1995||http://example.invalid/11|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|1|0|0|0\n"
        b"20|Midnight Ledger (1998)|01-Jan-1998||http://example.invalid/20|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n"
        b"42|Caf\xe9 Solstice (1993)|01-Jan-1993||http://example.invalid/42|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0|0|0|0\n"
        b"50|Never Rated (1999)|01-Jan-1999||http://example.invalid/50|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    ),
    "ml-100k/ua.base": (
        b"7\t3\t4\t880000001\n"
        b"7\t5\t2\t880000002\n"
        b"7\t42\t3\t880000004\n"
        b"12\t11\t4\t880000102\n"
        b"12\t20\t5\t880000103\n"
        b"12\t42\t2\t880000104\n"
        b"31\t5\t3\t880000201\n"
        b"31\t8\t4\t880000202\n"
        b"31\t11\t1\t880000203\n"
    ),
    "ml-100k/ua.test": (b"7\t8\t5\t880000003\n12\t3\t1\t880000101\n31\t20\t5\t880000204\n"),
    "ml-1m/movies.dat": (
        b"10::\xc9t\xe9 Indien (1992)::Drama|Romance\n"
        b"14::Paper Lanterns (1995)::Animation|Children's\n"
        b"17::The Long Audit (1999)::Thriller\n"
        b"21::Harbour Lights: Reprise (1990)::Comedy|Musical\n"
    ),
    "ml-1m/ratings.dat": (
        b"2::10::5::956700001\n"
        b"2::14::3::956700002\n"
        b"2::17::4::956700003\n"
        b"9::10::2::956700101\n"
        b"9::21::1::956700102\n"
        b"9::14::4::956700103\n"
        b"15::17::5::956700201\n"
        b"15::21::3::956700202\n"
    ),
}


def write_fixtures(folder: Path) -> Path:
    for name, data in FILES.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def zip_release(folder: Path, archive: Path, inner: str) -> Path:
    """Zip the files of `folder` under `inner/`, the way GroupLens packs a release."""
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"{inner}/{path.name}")
    return archive


def _materialize() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="movielens-fixtures-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write_fixtures(folder)


FIXTURES = _materialize()
