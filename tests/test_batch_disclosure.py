"""Issue 14: suppression that cannot be undone.

A run with every audience suppressed (``own_pack = "suppressed"``, ``shared =
"publication"``) on data full of small counts; then, for every output set (the
shared outputs, and each site's pack), the test tries the recoveries of the
bug report: derived columns beside a hidden count (rate x denominator, sigma,
limits, z, expected counts, CUSUM steps), a site's pooled total minus its
visible months, an SPC phase's centre line times its denominators minus the
visible months, the community's pooled rate minus the visible sites, and a
hidden site's total rebuilt from its visible months. Every hidden small count
must keep at least two possible values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccdata.report import EXIT_OK, run_pipeline
from ccdata.report.disclosure import (
    COMPLEMENTARY_LABEL,
    SAFE_COLUMNS,
    protect,
    suppress_series,
    suppress_text,
)

MIN = 5
PRACTICES = [f"P{i:02d}" for i in range(1, 7)]
TRUSTS = [f"T{i:02d}" for i in range(1, 9)]

CONFIG = """
[run]
dpi = 20
workers = 1

[sites]
path = "sites.csv"

[disclosure]
min_count = 5
own_pack = "suppressed"
shared = "publication"

[sources.ckd]
path = "ckd.csv"
schema = "ckd_care_bundle"
community = "ckd"

[sources.lung]
path = "lung.csv"
schema = "lung_cancer_indicators"
community = "lung"

[indicators.bundle]
source = "ckd"
numerator = "all_elements"
denominator = "eligible"
period = "month"
spc = "p"
spc_phases = ["2024-10"]

[indicators.histology]
source = "lung"
filter = { indicator = "histological_confirmation" }
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    rng = np.random.default_rng(41)
    d = tmp_path_factory.mktemp("disclosure")
    sites = [("ckd", p) for p in PRACTICES] + [("lung", t) for t in TRUSTS]
    pd.DataFrame(sites, columns=["community", "site_id"]).to_csv(
        d / "sites.csv", index=False
    )
    rows = []
    for p in PRACTICES:
        for i, m in enumerate(
            pd.period_range("2024-04", periods=12, freq="M").astype(str)
        ):
            if p == "P01":  # one lone small month: the classic differencing case
                rows.append(
                    (p, m, 3000, 150, 0.05, 12, 11, 11, 11, 11, 2 if i == 3 else 8)
                )
                continue
            eligible = int(rng.integers(5, 14))
            parts = [int(rng.integers(eligible // 2, eligible + 1)) for _ in range(4)]
            rows.append(
                (
                    p,
                    m,
                    3000,
                    150,
                    0.05,
                    eligible,
                    *parts,
                    int(rng.integers(0, min(parts) + 1)),
                )
            )
    pd.DataFrame(
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
    ).to_csv(d / "ckd.csv", index=False)
    lung = [
        (
            t,
            2025,
            "histological_confirmation",
            3 if t == "T08" else int(rng.integers(100, 150)),
            20 if t == "T08" else 180,
        )
        for t in TRUSTS
    ]
    pd.DataFrame(
        lung, columns=["site_id", "year", "indicator", "numerator", "denominator"]
    ).to_csv(d / "lung.csv", index=False)
    (d / "job.toml").write_text(CONFIG)
    import ccdata.plot

    drawn: dict[str, set[str]] = {}
    original = ccdata.plot.funnel

    def spy(result, *args, highlight=None, **kwargs):
        drawn[str(highlight)] = set(result.units["unit"].astype(str))
        return original(result, *args, highlight=highlight, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(ccdata.plot, "funnel", spy)
    try:
        res = run_pipeline(d / "job.toml", d / "out")
    finally:
        mp.undo()
    assert res.exit_code == EXIT_OK, res.message
    truth = pd.read_csv(d / "ckd.csv", dtype={"month": str})
    return d / "out", truth, drawn


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _hidden(v: str) -> bool:
    return v.startswith("<") or v == COMPLEMENTARY_LABEL


def _interval(total: float, cells: list[str]) -> list[tuple[int, int]]:
    """Feasible value range of each primary ("<5") cell of a line of known total.

    A reader knows the visible cells, that "<5" is 1..4 and that "[hidden]" is
    any count >= 0.
    """
    visible = sum(int(c) for c in cells if not _hidden(c))
    rest = total - visible
    out = []
    for i, c in enumerate(cells):
        if not c.startswith("<"):
            continue
        others = [x for j, x in enumerate(cells) if j != i and _hidden(x)]
        lo_others = sum(1 if x.startswith("<") else 0 for x in others)
        hi_others = (
            math.inf
            if any(x == COMPLEMENTARY_LABEL for x in others)
            else sum(MIN - 1 for _ in others)
        )
        low = 1 if hi_others == math.inf else max(1, math.ceil(rest - hi_others))
        out.append((low, min(MIN - 1, math.floor(rest - lo_others))))
    return out


def _assert_not_recoverable(total: float, cells: list[str], what: str) -> None:
    for lo, hi in _interval(total, cells):
        assert hi > lo, (
            f"{what}: a hidden count is recoverable ({lo}..{hi}) "
            f"from total {total} and cells {cells}"
        )


def _output_sets(out: Path) -> dict[str, Path]:
    sets = {"shared": out / "indicators"}
    sets.update({p.name: p for p in (out / "sites").iterdir()})
    return sets


def test_derived_columns_are_blank_wherever_a_count_is_hidden(run):
    out, _, _ = run
    n_hidden = 0
    for name, folder in _output_sets(out).items():
        for f in folder.glob("*.csv"):
            t = _read(f)
            counts = [
                c
                for c in ("numerator", "denominator", "observed", "n", "patients")
                if c in t.columns
            ]
            for _, row in t.iterrows():
                if not any(_hidden(row[c]) for c in counts):
                    continue
                n_hidden += 1
                for col in t.columns:
                    if (
                        col in SAFE_COLUMNS
                        or col in counts
                        or col == "centre"
                        or col == "ascertainment"
                    ):
                        continue
                    assert row[col] == "", (name, f.name, col, dict(row))
    assert n_hidden > 20  # the data is full of small counts


def test_no_cusum_and_no_sigma_beside_a_hidden_count(run):
    out, _, _ = run
    assert not list(out.rglob("*cusum*"))
    spc = _read(out / "indicators" / "bundle_spc.csv")
    hidden = spc["numerator"].map(_hidden)
    assert hidden.any() and (spc.loc[hidden, "sigma"] == "").all()
    assert (spc.loc[hidden, "upper"] == "").all()


def _totals(out: Path, folder: Path) -> dict[str, str]:
    if folder.name == "indicators":
        t = _read(folder / "bundle_funnel.csv")
    else:
        f = folder / "indicators.csv"
        if not f.is_file():
            return {}
        t = _read(f)
        t = t[t["indicator"] == "bundle"]
    return dict(zip(t["unit"], t["numerator"], strict=True))


def test_a_lone_hidden_month_is_not_its_total_minus_the_visible_months(run):
    out, truth, _ = run
    checked = 0
    for name, folder in _output_sets(out).items():
        spc_file = folder / ("bundle_spc.csv" if name == "shared" else "bundle_spc.csv")
        if not spc_file.is_file():
            continue
        spc = _read(spc_file)
        totals = _totals(out, folder)
        for unit, line in spc.groupby("unit"):
            cells = line["numerator"].tolist()
            total = totals.get(unit)
            if total is None or _hidden(total):
                # a hidden total: rebuilt from the true data is what a reader
                # cannot do; then the months alone must not give it back
                if all(not _hidden(c) for c in cells) and total is not None:
                    pytest.fail(
                        f"{name}: total of {unit} hidden but every month is visible"
                    )
                continue
            _assert_not_recoverable(float(total), cells, f"{name} {unit}")
            checked += 1
            if unit == "P01":
                assert sum(map(_hidden, cells)) >= 2  # the lone month is paired
    assert checked >= len(PRACTICES)


def test_a_phase_centre_times_its_denominators_gives_no_hidden_month_back(run):
    out, _, _ = run
    for name, folder in _output_sets(out).items():
        f = folder / "bundle_spc.csv"
        if not f.is_file():
            continue
        spc = _read(f)
        for (unit, _phase), line in spc.groupby(["unit", "phase"]):
            if (line["centre"] == "").any() or line["denominator"].map(_hidden).any():
                continue
            total = round(
                float(line["centre"].iloc[0]) * sum(int(x) for x in line["denominator"])
            )
            _assert_not_recoverable(
                total, line["numerator"].tolist(), f"{name} {unit} phase"
            )


def test_the_pooled_rate_gives_no_hidden_site_back(run):
    out, _, _ = run
    for ind in ("bundle", "histology"):
        t = _read(out / "indicators" / f"{ind}_funnel.csv")
        summary = _read(out / "indicators" / f"{ind}_summary.csv").set_index("key")
        target = float(summary.loc["target", "value"])
        if t["denominator"].map(_hidden).any():
            continue
        total = round(target * sum(int(x) for x in t["denominator"]))
        cells = t["numerator"].tolist()
        assert any(c.startswith("<") for c in cells) or ind == "bundle"
        _assert_not_recoverable(total, cells, f"{ind} pooled")


def test_a_hidden_site_total_is_not_rebuilt_from_its_months(run):
    out, _, _ = run
    funnel = _read(out / "indicators" / "bundle_funnel.csv").set_index("unit")
    spc = _read(out / "indicators" / "bundle_spc.csv")
    for unit in funnel.index[funnel["numerator"].map(_hidden)]:
        months = spc.loc[spc["unit"] == unit, "numerator"]
        assert months.map(_hidden).any(), unit


def test_other_sites_with_hidden_counts_are_left_out_of_pack_figures(run):
    out, _, drawn = run
    assert "T01" in drawn and "T08" in drawn
    assert "T08" not in drawn["T01"]  # 3 of 20: its point would give 3 back
    assert "T08" in drawn["T08"]  # its own pack shows its own point


def test_the_manifest_states_the_policy_per_audience(run):
    import json

    out, _, _ = run
    m = json.loads((out / "manifest.json").read_text())
    policy = m["disclosure_policy"]
    assert policy["own_pack"] == "suppressed" and policy["shared"] == "publication"
    assert set(policy["audiences"]) == {
        "site (its own pack)",
        "site (other sites in its pack)",
        "shared outputs (indicators/, figures/, index.html)",
    }


# ------------------------------------------------------------- properties ----


@pytest.mark.parametrize("seed", range(40))
def test_protect_leaves_every_small_cell_two_possible_values(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 14))
    counts = rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 30], size=n)
    frame = pd.DataFrame({"n": counts, "rate": counts / 50.0})
    shown = suppress_series(
        frame, count_columns=["n"], derived_columns=["rate"], min_count=MIN
    )
    cells = [str(c) for c in shown["n"]]
    hidden, exposed = protect(
        counts, (counts >= 1) & (counts < MIN), [np.ones(n, dtype=bool)], min_count=MIN
    )
    assert hidden.tolist() == [_hidden(c) for c in cells]
    if exposed:
        # nothing left to pair with: every other cell is 0, so the total is
        # the small count itself and is hidden wherever it is published
        assert counts.sum() < MIN and (counts[~hidden] == 0).all()
    else:
        _assert_not_recoverable(int(counts.sum()), cells, f"seed {seed}")


def test_small_numbers_in_data_quality_text_are_hidden_with_their_percentages():
    text = (
        "4 records submitted against 10 expected cases (40%); 16 of 254 "
        "records missing creatinine; 2 entered more than 90 days after"
    )
    assert suppress_text(text, min_count=5) == (
        "<5 records submitted against 10 expected cases; 16 of 254 records "
        "missing creatinine; <5 entered more than 90 days after"
    )
