"""End-to-end tests of the batch job (`ccdata run`): tree, manifest, determinism,
atomicity, data problems, site-pack disclosure checks.

The default-run tests use a small community made here (8 lung cancer trusts, 4
GP practices); the tests that only read its outputs share one run (the module
fixture ``clean_run``). The full demo on the bundled sample data is tested in
test_demo_packs.py, the one module that reads the session's demo run.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccdata.report import (
    EXIT_DATA_PROBLEMS,
    EXIT_FAILED,
    EXIT_OK,
    run_pipeline,
    scan_pack,
)
from ccdata.report.writers import sha256_file

TRUSTS = [f"T{i:02d}" for i in range(1, 9)]
PRACTICES = [f"P{i:02d}" for i in range(1, 5)]
INDICATORS = [
    "histological_confirmation",
    "seen_by_nurse_specialist",
    "surgical_resection",
]

CONFIG = """
[run]
title = "Small test community"
dpi = 30

[sites]
path = "sites.csv"

[disclosure]
min_count = 5

[sources.lung]
path = "lung_cancer_indicators.csv"
schema = "lung_cancer_indicators"
community = "lung"

[sources.ckd]
path = "ckd_care_bundle.csv"
schema = "ckd_care_bundle"
community = "ckd"

[indicators.histology]
title = "Histological confirmation"
source = "lung"
filter = { indicator = "histological_confirmation" }
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
funnel_window = "latest"
direction = "increase"

[indicators.resection]
title = "Surgical resection"
source = "lung"
filter = { indicator = "surgical_resection" }
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
funnel_window = "latest"

[indicators.ckd_bundle]
title = "CKD care bundle"
source = "ckd"
numerator = "all_elements"
denominator = "eligible"
period = "month"
spc = "p"
spc_phases = ["2024-10"]
overdispersion = "additive"
direction = "increase"
"""


def _sites() -> pd.DataFrame:
    rows = [
        ("lung", t, f"Trust hospital {chr(65 + i)}", "North")
        for i, t in enumerate(TRUSTS)
    ]
    rows += [
        ("ckd", p, f"Practice {chr(75 + i)}", "South") for i, p in enumerate(PRACTICES)
    ]
    return pd.DataFrame(rows, columns=["community", "site_id", "site_name", "region"])


def _lung(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for t in TRUSTS:
        for year in range(2022, 2026):
            for ind in INDICATORS:
                den = int(rng.integers(60, 300))
                p = {
                    "histological_confirmation": 0.8,
                    "seen_by_nurse_specialist": 0.85,
                    "surgical_resection": 0.15,
                }[ind]
                num = int(rng.binomial(den, p))
                if t == "T08" and ind == "surgical_resection":
                    den, num = 20, 3  # a small count: suppressed in T08's pack
                rows.append((t, year, ind, num, den))
    return pd.DataFrame(
        rows, columns=["site_id", "year", "indicator", "numerator", "denominator"]
    )


def _ckd(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    months = pd.period_range("2024-04", periods=12, freq="M").astype(str)
    for p in PRACTICES:
        for m in months:
            eligible = int(rng.integers(20, 40))
            parts = rng.binomial(eligible, 0.8, size=4)
            all_el = int(rng.binomial(int(parts.min()), 0.7))
            rows.append((p, m, 3000, 150, 0.05, eligible, *map(int, parts), all_el))
    return pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "month",
            "list_size",
            "register_size",
            "expected_prevalence",
            "eligible",
            "bp_measured",
            "acr_tested",
            "statin_offered",
            "ace_arb_offered",
            "all_elements",
        ],
    )


def _write_community(base: Path) -> Path:
    rng = np.random.default_rng(20261122)
    d = base / "job"
    d.mkdir()
    _sites().to_csv(d / "sites.csv", index=False, lineterminator="\n")
    _lung(rng).to_csv(
        d / "lung_cancer_indicators.csv", index=False, lineterminator="\n"
    )
    _ckd(rng).to_csv(d / "ckd_care_bundle.csv", index=False, lineterminator="\n")
    (d / "job.toml").write_text(CONFIG, encoding="utf-8")
    return d / "job.toml"


@pytest.fixture
def community(tmp_path) -> Path:
    """The small community's job, fresh for each test (tests may edit it)."""
    return _write_community(tmp_path)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> tuple[object, Path, Path]:
    """ONE run of the unchanged small community, shared by the tests that only
    read its outputs (a run costs several seconds; see tests/conftest.py).

    Returns ``(outcome, job_toml, out)``; ``out.parent`` holds only the job
    folder, ``out`` and the version folder ``out`` links to. Never write here.
    """
    base = tmp_path_factory.mktemp("clean_run")
    job = _write_community(base)
    out = base / "out"
    return run_pipeline(job, out), job, out


def _copy_published(out: Path, dest: Path) -> Path:
    """A copy of the published output ``out`` (its link and the version folder it
    points to) beside ``dest``, as the earlier run of a test would have left it."""
    import shutil

    for p in out.parent.iterdir():
        if p.name == out.name or p.name.startswith(f".{out.name}.v-"):
            if p.is_symlink():
                (dest / p.name).symlink_to(os.readlink(p))
            else:
                shutil.copytree(p, dest / p.name, symlinks=True)
    assert (dest / out.name).is_symlink() and (dest / out.name).is_dir()
    return dest / out.name


def _csv_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*.csv"))
    }


def test_run_writes_the_output_tree_and_the_manifest(clean_run):
    res, community, out = clean_run
    assert res.exit_code == EXIT_OK, res.message
    for name in ("validation", "indicators", "figures", "sites"):
        assert (out / name).is_dir()
    assert (out / "index.html").is_file()
    assert (out / "validation" / "summary.csv").is_file()
    assert (out / "indicators" / "ckd_bundle_spc.csv").is_file()
    assert (out / "figures" / "ckd_bundle_spc.png").is_file()
    for ind in ("histology", "resection", "ckd_bundle"):
        table = pd.read_csv(out / "indicators" / f"{ind}_funnel.csv")
        assert table["unit"].tolist() == sorted(table["unit"])  # site order
        assert {"lower_95", "upper_998", "status"} <= set(table.columns)
    assert (out / "figures" / "histology_funnel.png").is_file()
    m = json.loads((out / "manifest.json").read_text())
    assert m["exit_code"] == 0
    assert m["versions"]["ccdata"] and m["versions"]["pandas"]
    by_role = {i["role"]: i for i in m["inputs"]}
    lung = by_role["source:lung"]
    lung_csv = community.parent / "lung_cancer_indicators.csv"
    assert lung["sha256"] == sha256_file(lung_csv)
    assert by_role["sites"]["sha256"] == sha256_file(community.parent / "sites.csv")
    assert m["counts"]["rows_read"] == 8 * 4 * 3 + 4 * 12
    assert m["parameters"]["disclosure"]["min_count"] == 5
    assert "total" in m["timings_seconds"]
    packs = {p.name for p in (out / "sites").iterdir()}
    assert packs == set(TRUSTS + PRACTICES)
    html = (out / "index.html").read_text()
    assert 'href="manifest.json"' in html and "figures/ckd_bundle_spc.png" in html
    assert "No data problems were found" in html
    assert sorted(p.name for p in out.parent.iterdir() if ".v-" not in p.name) == [
        "job",
        "out",
    ]  # no debris
    assert len([p for p in out.parent.iterdir() if ".v-" in p.name]) == 1


def test_same_inputs_give_byte_identical_csvs(clean_run, community, tmp_path):
    # the shared run's job folder and this test's are two copies of the same
    # inputs in different places: the outputs must not depend on either
    res_a, _, a = clean_run
    b = tmp_path / "b"
    assert res_a.exit_code == EXIT_OK
    assert run_pipeline(community, b).exit_code == EXIT_OK
    ca, cb = _csv_bytes(a), _csv_bytes(b)
    assert ca.keys() == cb.keys() and len(ca) >= 8
    assert ca == cb
    assert (a / "index.html").read_bytes() == (b / "index.html").read_bytes()


def test_a_run_failing_half_way_leaves_previous_outputs_intact(
    clean_run, community, tmp_path, monkeypatch
):
    # the previous outputs: a copy of the shared run's published folder
    res, _, published = clean_run
    assert res.exit_code == EXIT_OK, res.message
    out = _copy_published(published, tmp_path)
    before = _csv_bytes(out)
    assert len(before) >= 8
    manifest = (out / "manifest.json").read_bytes()

    import ccdata.report.pipeline as pipeline

    real = pipeline.compute_indicator
    calls = []

    def failing(cfg, name, source):
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(cfg, name, source)

    monkeypatch.setattr(pipeline, "compute_indicator", failing)
    res = run_pipeline(community, out)
    assert res.exit_code == EXIT_FAILED
    assert "disk on fire" in res.message
    assert res.out_dir is None
    assert _csv_bytes(out) == before
    assert (out / "manifest.json").read_bytes() == manifest
    assert sorted(p.name for p in tmp_path.iterdir() if ".v-" not in p.name) == [
        "job",
        "out",
    ]


def test_configuration_error_exits_2_and_writes_nothing(community, tmp_path):
    text = community.read_text().replace("lung_cancer_indicators.csv", "missing.csv")
    community.write_text(text)
    out = tmp_path / "out"
    res = run_pipeline(community, out)
    assert res.exit_code == EXIT_FAILED
    assert "missing.csv" in res.message
    assert not out.exists()


def test_no_output_folder_is_a_configuration_error(community):
    res = run_pipeline(community)
    assert res.exit_code == EXIT_FAILED and "--out" in res.message


def test_submission_with_problems_still_gives_outputs_and_exit_1(community, tmp_path):
    lung_path = community.parent / "lung_cancer_indicators.csv"
    lung = pd.read_csv(lung_path)
    bad = (
        (lung["site_id"] == "T03")
        & (lung["year"] == 2025)
        & (lung["indicator"] == "surgical_resection")
    )
    lung.loc[bad, "numerator"] = lung.loc[bad, "denominator"] + 5  # num > den
    lung.to_csv(lung_path, index=False, lineterminator="\n")
    out = tmp_path / "out"
    res = run_pipeline(community, out)
    assert res.exit_code == EXIT_DATA_PROBLEMS
    errors = pd.read_csv(out / "validation" / "T03_errors.csv", dtype=str)
    assert len(errors) >= 1 and set(errors["site_id"]) == {"T03"}
    assert (out / "sites" / "T03" / "validation_errors.csv").is_file()
    assert "Data problems" in (out / "sites" / "T03" / "summary.md").read_text()
    assert not (out / "validation" / "T01_errors.csv").exists()
    # the good data still produced every indicator
    assert (out / "indicators" / "ckd_bundle_spc.csv").is_file()
    hist = pd.read_csv(out / "indicators" / "histology_funnel.csv")
    assert "T03" in set(hist["unit"])  # its other rows were fine
    m = json.loads((out / "manifest.json").read_text())
    assert m["exit_code"] == 1 and m["counts"]["rows_rejected"] >= 1


def test_every_site_pack_names_no_other_site(clean_run):
    res, _, out = clean_run
    assert res.exit_code == EXIT_OK, res.message
    sites = _sites()
    every = set(sites["site_id"]) | set(sites["site_name"])
    for pack in sorted((out / "sites").iterdir()):
        own = sites.loc[sites["site_id"] == pack.name, "site_name"].iloc[0]
        assert scan_pack(pack, pack.name, every, own_name=own) == []
        # independent check: a plain regex over every text file
        others = [s for s in sites["site_id"] if s != pack.name]
        for f in pack.rglob("*"):
            if f.suffix in (".csv", ".md", ".txt"):
                text = f.read_text()
                assert not re.search(r"\b(" + "|".join(others) + r")\b", text), f
        assert (pack / "summary.md").is_file()


def test_scan_pack_finds_a_planted_identifier(tmp_path):
    (tmp_path / "notes.md").write_text("Compared with T02 and Trust hospital C.\n")
    hits = scan_pack(tmp_path, "T01", ["T01", "T02", "T03", "Trust hospital C"])
    assert hits == ["notes.md: T02", "notes.md: Trust hospital C"]
    assert scan_pack(tmp_path, "T02", ["T02", "T20"], own_name=None) == []


def test_small_numbers_are_suppressed_in_site_packs(community, tmp_path):
    community.write_text(
        community.read_text().replace(
            "min_count = 5", 'min_count = 5\nown_pack = "suppressed"'
        )
    )
    out = tmp_path / "out"
    assert run_pipeline(community, out).exit_code == EXIT_OK
    own = pd.read_csv(
        out / "sites" / "T08" / "indicators.csv", dtype=str, keep_default_na=False
    )
    rows = own.set_index("indicator")
    assert rows.loc["resection", "numerator"] == "<5"  # 3 of 20 in 2025
    assert rows.loc["resection", "value"] == ""  # 3/20 would give the count away
    assert rows.loc["resection", "z"] == ""
    assert rows.loc["resection", "denominator"] == "20"  # written as a count
    assert rows.loc["resection", "status"] != ""  # limits and status are kept
    assert rows.loc["histology", "numerator"] not in ("<5", "")
    assert "." not in rows.loc["histology", "numerator"]
    summary = (out / "sites" / "T08" / "summary.md").read_text()
    assert "Surgical resection" in summary
    assert "value not shown (<5 of 20)" in summary
    # the steering group's table keeps the real numbers
    table = pd.read_csv(out / "indicators" / "resection_funnel.csv")
    assert int(table.loc[table["unit"] == "T08", "numerator"].iloc[0]) == 3


def test_suppress_hides_counts_1_to_4_and_blanks_their_value():
    from ccdata.report.sitepack import suppress

    shown, mask = suppress(pd.Series([0, 1, 4, 5, np.nan]), min_count=5)
    assert shown.tolist()[1:4] == ["<5", "<5", 5.0]
    assert mask.tolist() == [False, True, True, False, False]
    shown, mask = suppress(pd.Series([0, 7]), min_count=10, suppress_zero=True)
    assert shown.tolist() == ["<10", "<10"]


def test_ratio_suppression_hides_small_observed_counts_not_expected_values():
    from ccdata.report.config import parse_config
    from ccdata.report.sitepack import _suppress_frame

    cfg = parse_config(
        {"sources": {"a": {"path": "a.csv"}}, "disclosure": {"own_pack": "suppressed"}}
    )
    rows = pd.DataFrame(
        {
            "unit": ["A", "B", "C", "D"],
            "numerator": [3.0, 0.0, 6.0, 12.0],
            "denominator": [2.5, 3.2, 4.1, 10.0],  # expected deaths
            "value": [1.2, 0.0, 6 / 4.1, 1.2],
            "z": [0.3, -1.8, 1.2, 0.6],
            "status": ["within"] * 4,
        }
    )
    out = _suppress_frame(rows, cfg, "ratio")
    # the lone small count is protected by a complementary cell (its total is
    # published): the smallest non-zero other count
    assert out["numerator"].tolist() == ["<5", 0, "[hidden]", 12]
    # expected counts below 5 are model outputs, not people: never suppressed
    assert out["denominator"].tolist() == [2.5, 3.2, 4.1, 10.0]
    # O/E blanked only where the observed count is hidden (O/E x E = O)
    assert out["value"].tolist()[0] == "" and out["z"].tolist()[0] == ""
    assert out["value"].tolist()[1:] == ["0", "", "1.2"]  # %.10g
    # for a proportion the denominator counts patients and is suppressed
    prop = _suppress_frame(rows.assign(denominator=[20, 3, 40, 50]), cfg, "proportion")
    assert prop["denominator"].tolist() == ["[hidden]", "<5", 40, 50]
    assert prop["value"].tolist()[:2] == ["", ""]


def test_cusum_outputs_are_monthly_aggregates_never_patient_rows():
    from ccdata.report.config import parse_config
    from ccdata.report.indicators import cusum_by_month
    from ccdata.report.sitepack import _suppress_frame

    patients = pd.DataFrame(
        {
            "unit": ["A", "A", "A", "B"],
            "procedure_date": pd.to_datetime(
                ["2024-01-03", "2024-01-20", "2024-02-02", "2024-01-05"]
            ),
            "died_in_hospital": [0, 1, 0, 0],
            "expected_risk": [0.1, 0.2, 0.1, 0.05],
            "cusum": [0.0, 0.9, 0.8, 0.0],
            "signal": [False, False, False, False],
        }
    )
    table = cusum_by_month(patients, date="procedure_date", outcome="died_in_hospital")
    assert table.columns.tolist() == [
        "unit",
        "month",
        "patients",
        "observed",
        "expected",
        "cusum_end",
        "cusum_max",
        "signals",
    ]
    assert table[["unit", "month", "patients", "observed"]].values.tolist() == [
        ["A", "2024-01", 2, 1],
        ["A", "2024-02", 1, 0],
        ["B", "2024-01", 1, 0],
    ]
    np.testing.assert_allclose(table["expected"], [0.3, 0.1, 0.05])
    np.testing.assert_allclose(table["cusum_end"], [0.9, 0.8, 0.0])
    cfg = parse_config(
        {"sources": {"a": {"path": "a.csv"}}, "disclosure": {"own_pack": "suppressed"}}
    )
    shown = _suppress_frame(table, cfg, "cusum")
    assert shown["observed"].tolist() == ["<5", 0, 0]
    assert shown["cusum_end"].tolist() == ["", "", ""]  # patients 1-4 every month


def test_spc_phases_and_overdispersion_per_indicator(clean_run):
    res, _, out = clean_run
    assert res.exit_code == EXIT_OK, res.message
    spc_points = pd.read_csv(out / "indicators" / "ckd_bundle_spc.csv")
    # 12 months from 2024-04: the phase launched in 2024-10 starts at point 7
    phases = spc_points.groupby(
        "period_start" if "period_start" in spc_points else "x"
    )["phase"].first()
    assert phases.tolist() == [1] * 6 + [2] * 6
    summary = pd.read_csv(out / "indicators" / "ckd_bundle_summary.csv")
    summary = dict(zip(summary["key"], summary["value"], strict=True))
    assert summary["overdispersion"] == "additive"
    # binomial data: no over-dispersion, so the limits are left unadjusted
    assert float(summary["phi"]) < 1 and summary["overdispersion_applied"] == "False"


def test_spc_phases_outside_the_data_is_a_configuration_error(community, tmp_path):
    text = community.read_text(encoding="utf-8").replace(
        'spc_phases = ["2024-10"]', 'spc_phases = ["2031-01"]'
    )
    community.write_text(text, encoding="utf-8")
    res = run_pipeline(community, tmp_path / "out")
    assert res.exit_code == EXIT_FAILED
    assert "spc_phases" in res.message and "2031-01" in res.message


# --------------------------------------------- case ascertainment on outcome funnels
HOSPITALS = [f"H{i:02d}" for i in range(1, 7)]
AAA_CONFIG = """
[run]
title = "Small AAA community"
dpi = 30
workers = 1

[sites]
path = "sites.csv"

[sources.aaa]
path = "aaa.csv"

[sources.hes]
path = "hes.csv"

[completeness.aaa]
fields = ["creatinine"]
event_date = "procedure_date"
entered_date = "entered_date"
timeliness_days = 90
event_label = "the operation"
expected_source = "hes"
expected_label = "Hospital Episode Statistics"
ascertainment_threshold = 0.75

[indicators.mortality]
title = "In-hospital mortality"
source = "aaa"
numerator = "died"
period = "procedure_date"
direction = "decrease"
"""
# records a month per hospital, and the cases expected a month (HES)
_PER_MONTH = {
    "H01": (10, 10),
    "H02": (12, 12),
    "H03": (5, 10),
    "H04": (8, 8),
    "H05": (10, 13),
    "H06": (9, 9),
}


@pytest.fixture
def aaa_community(tmp_path) -> Path:
    rng = np.random.default_rng(5)
    d = tmp_path / "aaa_job"
    d.mkdir()
    pd.DataFrame(
        {
            "community": "aaa",
            "site_id": HOSPITALS,
            "site_name": [f"Vascular unit {c}" for c in "ABCDEF"],
        }
    ).to_csv(d / "sites.csv", index=False, lineterminator="\n")
    months = pd.period_range("2024-01", periods=6, freq="M")
    rows, hes = [], []
    for h, (n, e) in _PER_MONTH.items():
        hes.append((h, "2023-12", 100))  # before the data: outside the window
        for m in months:
            hes.append((h, str(m), e))
            for k in range(n):
                day = m.start_time + pd.Timedelta(days=k)
                late = 120 if (h == "H02" and k == 0) else 10
                rows.append(
                    (
                        h,
                        day.date().isoformat(),
                        (day + pd.Timedelta(days=late)).date().isoformat(),
                        int(rng.random() < 0.05),
                        np.nan if (h == "H04" and k < 2) else 80.0,
                    )
                )
    pd.DataFrame(
        rows,
        columns=["site_id", "procedure_date", "entered_date", "died", "creatinine"],
    ).to_csv(d / "aaa.csv", index=False, lineterminator="\n")
    pd.DataFrame(hes, columns=["site_id", "month", "expected"]).to_csv(
        d / "hes.csv", index=False, lineterminator="\n"
    )
    (d / "job.toml").write_text(AAA_CONFIG, encoding="utf-8")
    return d / "job.toml"


def test_poor_ascertainment_is_marked_wherever_outcomes_are_shown(
    aaa_community, tmp_path
):
    out = tmp_path / "out"
    res = run_pipeline(aaa_community, out)
    assert res.exit_code == EXIT_OK, res.message
    table = pd.read_csv(out / "indicators" / "mortality_funnel.csv")
    assert table["unit"].tolist() == HOSPITALS  # site order
    # submitted / expected over the funnel's months only (2023-12 left out)
    want = [n / e for n, e in _PER_MONTH.values()]
    np.testing.assert_allclose(table["ascertainment"], want, rtol=1e-9)
    # threshold 0.75 from the configuration: H05 (77%) is not flagged, H03 (50%) is
    assert table["ascertainment_concern"].tolist() == [h == "H03" for h in HOSPITALS]
    summary = pd.read_csv(out / "indicators" / "mortality_summary.csv")
    facts = dict(zip(summary["key"], summary["value"], strict=True))
    assert facts["sites_with_ascertainment_concern"] == "1"
    # the steering group's figure description and index page
    described = (out / "figures" / "mortality_funnel.txt").read_text()
    assert (
        "Marked (case ascertainment below 75%; its outcome figures may be "
        "incomplete): H03."
    ) in described
    assert "case ascertainment below 75% (H03)" in (out / "index.html").read_text()
    # the flagged site's own pack says so in plain words
    sentence = (
        "Your records cover 50% of the cases expected from Hospital Episode "
        "Statistics; outcome figures based on incomplete records may look "
        "better or worse than they are."
    )
    h03 = (out / "sites" / "H03" / "summary.md").read_text()
    assert sentence in h03
    assert sentence in (out / "sites" / "H03" / "mortality_funnel.txt").read_text()
    own = pd.read_csv(out / "sites" / "H03" / "indicators.csv")
    assert bool(own["ascertainment_concern"].iloc[0])
    # every pack: its own data-quality message, under a "Data quality" heading
    dq = pd.read_csv(out / "indicators" / "data_quality_aaa_summary.csv")
    assert dq["site_id"].tolist() == HOSPITALS
    for h in HOSPITALS:
        text = (out / "sites" / h / "summary.md").read_text()
        assert "## Data quality" in text
        msg = dq.loc[dq["site_id"] == h, "message"].iloc[0]
        assert msg[1:] in text
        assert (sentence in text) == (h == "H03")
    h02 = (out / "sites" / "H02" / "summary.md").read_text()
    assert "6 entered more than 90 days after the operation" in h02
    assert "cases expected" not in h02  # 2023-12, before any record, is left out
    assert (
        "2 of 48 records missing creatinine"
        in (out / "sites" / "H04" / "summary.md").read_text()
    )
    assert "cases expected" not in (out / "sites" / "H05" / "summary.md").read_text()
    # no pack names another site, flagged or not
    sites = pd.read_csv(aaa_community.parent / "sites.csv")
    every = set(sites["site_id"]) | set(sites["site_name"])
    for h, name in zip(sites["site_id"], sites["site_name"], strict=True):
        assert scan_pack(out / "sites" / h, h, every, own_name=name) == []


def test_site_ids_that_are_not_safe_file_names_get_their_own_pack(community, tmp_path):
    # a registered id with a space, and one that is a path component ("..")
    d = community.parent
    rename = {"T08": "T 08", "T07": ".."}
    for name in ("sites.csv", "lung_cancer_indicators.csv"):
        frame = pd.read_csv(d / name, dtype=str, keep_default_na=False)
        frame["site_id"] = frame["site_id"].replace(rename)
        frame.to_csv(d / name, index=False, lineterminator="\n")
    out = tmp_path / "out"
    res = run_pipeline(community, out)
    assert res.exit_code == EXIT_OK, res.message
    units = pd.read_csv(
        out / "indicators" / "histology_funnel.csv", dtype=str, keep_default_na=False
    )["unit"]
    assert {"T 08", ".."} <= set(units)
    from ccdata.report.writers import pack_name

    assert pack_name("T 08").startswith("T_08-") and pack_name("..").startswith("_-")
    assert (out / "sites" / pack_name("T 08") / "summary.md").is_file()
    assert (out / "sites" / pack_name("..") / "summary.md").is_file()
    assert sorted(p.name for p in out.iterdir()) == [
        ".ccdata-output",
        "figures",
        "index.html",
        "indicators",
        "indicators.xlsx",
        "manifest.json",
        "report.pdf",
        "sites",
        "validation",
    ]
    # every link of index.html leads to a file of the output folder
    links = re.findall(r'href="([^"]+)"', (out / "index.html").read_text())
    assert f"sites/{pack_name('T 08')}/index.html" in links
    assert [h for h in links if not h.startswith("#") and not (out / h).is_file()] == []


def test_an_output_folder_that_cannot_be_replaced_fails_before_reading(
    community, tmp_path, monkeypatch
):
    import ccdata.report.pipeline as pipeline

    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("not ccdata's", encoding="utf-8")

    def never(*args, **kwargs):
        raise AssertionError("sources were read before the output folder was checked")

    monkeypatch.setattr(pipeline, "read_source", never)
    res = run_pipeline(community, out)
    assert res.exit_code == EXIT_FAILED and "is not empty" in res.message
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
