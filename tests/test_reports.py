"""The evaluation report: metric lines become curves, the page embeds every plot as a PNG, escapes what it
is given, is written atomically, and renders in a real browser (headless Chromium)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jobs.reports import (
    MovieEmbeddings,
    PackageFigures,
    ReportData,
    parse_metric_lines,
    render_html,
    write_report,
)
from jobs.reports.movie_map import movie_map, well_known_ids

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOG = """\
10:00:01 INFO train: #quality_metric: host=algo-1, epoch=1, train mean_squared_error <loss>=1.10
10:00:01 INFO train: #quality_metric: host=algo-1, epoch=1, validation mean_squared_error <loss>=1.00
#quality_metric: host=algo-1, epoch=2, train mean_squared_error <loss>=0.90
#quality_metric: host=algo-1, epoch=2, validation mean_squared_error <loss>=0.95
#quality_metric: host=algo-1, epoch=2, validation mean_squared_error <loss>=0.94
#quality_metric: host=algo-1, epoch=3, validation mean_squared_error <loss>=nan
Training epoch 3/20
#quality_metric: host=algo-1, test mean_squared_error <loss>=0.8764
"""


def test_metric_lines_become_curves():
    curves = parse_metric_lines(LOG.splitlines())
    assert curves.per_epoch == {
        "mean_squared_error": {
            "train": [(1, 1.10), (2, 0.90)],
            "validation": [(1, 1.00), (2, 0.94)],  # the repeated epoch keeps its last report; NaN is dropped
        }
    }
    assert curves.final == {"mean_squared_error": {"test": 0.8764}}
    assert parse_metric_lines(["nothing here"]).empty


def synthetic_embeddings(n: int = 60) -> MovieEmbeddings:
    rng = np.random.default_rng(0)
    ids = np.arange(1, n + 1)
    genres_cycle = (("Action", "Sci-Fi"), ("Comedy",), ("Drama", "Romance"))
    titles = {int(i): f"Movie {i} (1990)" for i in ids}
    titles.update({1: "Toy Story (1995)", 2: "Star Wars (1977)", 3: "Terminator, The (1984)"})
    centres = rng.normal(size=(3, 8)) * 3
    vectors = np.stack([centres[(i - 1) % 3] + rng.normal(size=8) for i in ids])
    return MovieEmbeddings(ids, vectors, titles, {int(i): genres_cycle[(i - 1) % 3] for i in ids})


def report_data(**overrides) -> ReportData:
    base = {
        "endpoint": "topNModel",
        "task": "implicit",
        "dataset": "ml-100k",
        "protocol": "holdout",
        "training_job": "topNModel-20261203-100000",
        "test_set": "c0ffee" * 10 + "abcd",
        "candidate": PackageFigures(
            "version 2",
            0.8126,
            {"test:mean_squared_error": 0.0266},
            {k: min(1.0, 0.1 * k) for k in range(1, 21)},
        ),
        "approved": PackageFigures(
            "version 1",
            0.7950,
            {"test:mean_squared_error": 0.0270},
            {k: min(1.0, 0.09 * k) for k in range(1, 21)},
        ),
        "curves": parse_metric_lines(LOG.splitlines()),
        "baselines": {"popularity": 0.5771},
        "baseline_hit_rates": {"popularity": {k: min(1.0, 0.05 * k) for k in range(1, 21)}},
        "decision": ("Approved", "HR@10 0.8126 beats the approved version 1 (0.7950) and every baseline"),
        "embeddings": synthetic_embeddings(),
        "hyperparameters": {"epochs": "20", "enc_dim": "64"},
    }
    return ReportData(**{**base, **overrides})


def embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    return struct.unpack(">II", png[16:24])  # IHDR: width, height


def test_the_page_embeds_every_plot():
    page = render_html(report_data())
    pngs = embedded_pngs(page)
    # held-out bars, HR@k, learning curves, movie map
    assert len(pngs) == 4
    for png in pngs:
        width, height = png_size(png)
        assert width > 300
        assert height > 200
    for alt in ("HR@10 against the baselines", "HR at k curve", "learning curves", "map of movie embeddings"):
        assert f'<img alt="{alt}"' in page
    assert "Star Wars (1977)" in page  # a well-known film with its neighbours
    assert "version 1" in page
    assert "+0.0176" in page  # the comparison with the approved package
    assert "Approved</strong>" in page


def test_the_page_adapts_to_the_task_and_shows_reference_figures():
    rating = report_data(
        endpoint="ratingModel",
        task="rating",
        candidate=PackageFigures("version 1", 0.9361),
        approved=None,
        baselines={"global mean": 1.1222, "per-user mean": 1.0478},
        baseline_hit_rates={},
        embeddings=None,
    )
    page = render_html(rating)
    assert len(embedded_pngs(page)) == 2  # held-out bars and learning curves; no HR@k, no map
    assert (
        "Surprise SVD++ (reference: issue 12, same split)" not in page
    )  # drawn in the plot, named in caption
    assert "Hatched: the strongest classical methods" in page
    assert "No package of this group was approved before this one." in page
    elsewhere = render_html(
        report_data(task="rating", dataset="ml-1m", candidate=PackageFigures("v", 0.9), embeddings=None)
    )
    assert "Hatched" not in elsewhere  # the reference figures belong to ml-100k's holdout split only


def test_a_refit_names_the_job_that_chose_its_epochs():
    page = render_html(report_data(training_job="ratingModel-1-refit", selected_by="ratingModel-1"))
    assert (
        "training job ratingModel-1-refit (trained on train + validation for the epochs ratingModel-1 chose"
        in page
    )
    assert "chose" not in render_html(report_data(training_job="ratingModel-1"))


def test_hit_rate_lines_are_curves_too():
    line = "#quality_metric: host=algo-1, epoch=4, validation hit_rate@10 <score>=0.71"
    assert parse_metric_lines([line]).per_epoch == {"hit_rate@10": {"validation": [(4, 0.71)]}}


def test_the_page_escapes_what_it_is_given():
    hostile = "<script>alert(1)</script>"
    page = render_html(report_data(endpoint=hostile, hyperparameters={"x": hostile}))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_the_report_is_written_atomically(tmp_path: Path):
    path = write_report(tmp_path / "reports" / "report.html", report_data())
    first = path.read_bytes()
    assert first.startswith(b"<!DOCTYPE html>")
    bad = report_data(embeddings=MovieEmbeddings(np.arange(2), np.zeros((2, 4)), {}, {}))
    with pytest.raises(ValueError, match="at least 3 movies"):
        write_report(path, bad)
    assert path.read_bytes() == first  # the old page is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temporary left behind


def test_movie_map_finds_neighbours_and_well_known_films():
    data = synthetic_embeddings()
    probes = well_known_ids(data.titles, list(data.movie_ids))
    assert probes == [1, 2, 3]  # Toy Story, Star Wars, Terminator; Fargo and Pulp Fiction are absent
    movies = movie_map(data.movie_ids, data.vectors, probes)
    assert movies.xy.shape == (60, 2)
    assert movies.explained[0] >= movies.explained[1] > 0
    # the synthetic movies form 3 clusters (ids 1, 4, 7, ... share one): neighbours come from the same one
    for probe, nearest in movies.neighbours.items():
        assert all((m - probe) % 3 == 0 for m in nearest)


# -- in a real browser ---------------------------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("REQUIRE_SHARED_DATA") == "1":
        pytest.fail("chromium is not installed (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")


@pytest.mark.slow
def test_the_report_renders_in_headless_chromium(tmp_path: Path):
    from matplotlib.image import imread

    browser = chromium()
    page = write_report(tmp_path / "report.html", report_data())
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = imread(shot)[..., :3]  # floats in 0..1
    assert pixels.shape[:2] == (2000, 1200)
    not_white = (pixels < 0.9).any(axis=2).mean()
    assert not_white > 0.03, f"the page looks blank: {not_white:.1%} of its pixels are not white"
    # The plots themselves were drawn: the candidate's blue (#1f77b4) covers a visible area.
    blue = (np.abs(pixels - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.06).all(axis=2).sum()
    assert blue > 2000, f"only {blue} pixels of the plots' blue: the embedded images did not render"
