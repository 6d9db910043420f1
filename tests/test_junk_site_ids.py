"""Issue 14: without a site list, junk ids in rejected rows get no pack.

A run without ``[sites]`` cannot check ids against a register, so a site is
what the data show: an id with an accepted row, or the owner of a submitted
file (``owner = "file"``/``"folder"``). An id found only in rejected rows --
5,000 of them from a corrupt column -- is not a site: no pack, no error file
of its own; it is listed once in ``validation/unrecognised_site_ids.csv``
(its problems in ``unrecognised_site_errors.csv`` and ``all_errors.csv``),
and the run's message says so (exit 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccdata.report import EXIT_DATA_PROBLEMS, run_pipeline

TRUSTS = [f"T{i:02d}" for i in range(1, 6)]
N_JUNK = 5000

CONFIG = """
[run]
dpi = 20
figures = false
workers = 1

[sources.lung]
path = "submissions/*.csv"
schema = "lung_cancer_indicators"
community = "lung"
owner = "none"

[indicators.histology]
source = "lung"
filter = { indicator = "histological_confirmation" }
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
funnel_window = "latest"
"""


def _rows(site: str, rng: np.random.Generator) -> list[tuple]:
    rows = []
    for year in (2024, 2025):
        den = int(rng.integers(80, 200))
        rows.append(
            (site, year, "histological_confirmation", int(rng.binomial(den, 0.8)), den)
        )
    return rows


COLUMNS = ["site_id", "year", "indicator", "numerator", "denominator"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    rng = np.random.default_rng(14)
    d = tmp_path_factory.mktemp("junk")
    (d / "submissions").mkdir()
    for t in TRUSTS:
        pd.DataFrame(_rows(t, rng), columns=COLUMNS).to_csv(
            d / "submissions" / f"{t}.csv", index=False, lineterminator="\n"
        )
    # one file whose site column went wrong: 5,000 junk ids, every row invalid
    junk = pd.DataFrame(
        {
            "site_id": [f"X{i:05d}" for i in range(N_JUNK)],
            "year": 2025,
            "indicator": "histological_confirmation",
            "numerator": 50,
            "denominator": 10,  # numerator > denominator: rejected
        }
    )
    junk.to_csv(d / "submissions" / "merged.csv", index=False, lineterminator="\n")
    # T05 sends a second file with one bad row: T05 is still a site
    pd.DataFrame([("T05", 2025, "histological_confirmation", 9, 3)],
                 columns=COLUMNS).to_csv(d / "submissions" / "T05_extra.csv",
                                         index=False)  # fmt: skip
    (d / "job.toml").write_text(CONFIG, encoding="utf-8")
    out = d / "out"
    return run_pipeline(d / "job.toml", out, progress=False), out


def test_junk_ids_get_no_pack(run):
    res, out = run
    assert res.exit_code == EXIT_DATA_PROBLEMS, res.message
    packs = {p.name for p in (out / "sites").iterdir()}
    assert packs == set(TRUSTS)
    assert res.counts["site_packs"] == len(TRUSTS)
    assert res.counts["unrecognised_site_ids"] == N_JUNK
    assert f"{N_JUNK} site id(s) found only in rejected rows got no site pack" in (
        res.message
    )
    assert "validation/unrecognised_site_ids.csv" in res.message


def test_junk_ids_are_listed_once_not_given_a_file_each(run):
    _, out = run
    vdir = out / "validation"
    listing = pd.read_csv(vdir / "unrecognised_site_ids.csv", dtype=str)
    assert len(listing) == N_JUNK
    assert list(listing.columns) == ["site_id", "problems", "sources", "files"]
    assert set(listing["files"]) == {"submissions/merged.csv"}
    errs = pd.read_csv(vdir / "unrecognised_site_errors.csv", dtype=str)
    assert set(errs["site_id"]) == set(listing["site_id"])
    every = pd.read_csv(vdir / "all_errors.csv", dtype=str)
    assert set(listing["site_id"]) <= set(every["site_id"])  # nothing lost
    assert not list(vdir.glob("X0*_errors.csv"))
    assert len(list(vdir.iterdir())) < 20


def test_a_site_with_accepted_rows_keeps_its_problems_in_its_pack(run):
    _, out = run
    assert (out / "validation" / "T05_errors.csv").is_file()
    text = (out / "sites" / "T05" / "validation_errors.csv").read_text()
    assert "T05_extra.csv" in text


def test_a_file_owner_gets_a_pack_even_when_every_row_is_rejected(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "submissions").mkdir()
    for t in TRUSTS[:3]:
        pd.DataFrame(_rows(t, rng), columns=COLUMNS).to_csv(
            tmp_path / "submissions" / f"{t}.csv", index=False
        )
    bad = pd.DataFrame(_rows("T09", rng), columns=COLUMNS).assign(denominator=1)
    bad.to_csv(tmp_path / "submissions" / "T09.csv", index=False)
    (tmp_path / "job.toml").write_text(
        CONFIG.replace('owner = "none"', 'owner = "file"')
    )
    res = run_pipeline(tmp_path / "job.toml", tmp_path / "out", progress=False)
    assert res.exit_code == EXIT_DATA_PROBLEMS, res.message
    packs = {p.name for p in (Path(tmp_path / "out") / "sites").iterdir()}
    assert packs == {*TRUSTS[:3], "T09"}  # T09's file is its own: it is told
    assert res.counts["unrecognised_site_ids"] == 0
