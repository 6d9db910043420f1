"""The measures recover what the sample-data generator put into the AAA files.

The truth comes from :mod:`ccdata.sample_data` (``sample_data_truth`` and the
module constants): realised submitted and expected counts per site-month, the
true ascertainment, missingness rates and probabilities of timely entry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ccdata.completeness import (
    add_period,
    case_ascertainment,
    data_quality,
    field_completeness,
    submission_volume,
    timeliness,
)
from ccdata.sample_data import (
    AAA_HIGH_MISSING,
    AAA_IMPROVING_REGION,
    AAA_LONG_LAG_SITES,
    AAA_LOW_ASCERTAINMENT_SITES,
    AAA_MISSING_RATES,
    sample_data_truth,
)

pytestmark = pytest.mark.filterwarnings(
    # These tests pin the behaviour of the deprecated spellings (by=, site=,
    # freq="M"), which keep their old output; the new vocabulary is tested in
    # tests/test_completeness_vocabulary.py.
    "ignore:.*is deprecated and will (be removed|stop working):FutureWarning"
)


@pytest.fixture(scope="module")
def truth():
    return sample_data_truth()


@pytest.fixture(scope="module")
def procedures(sample_data_dir) -> pd.DataFrame:
    data = pd.read_csv(sample_data_dir / "aaa_procedures.csv", dtype={"site_id": str})
    return add_period(data, "procedure_date")


@pytest.fixture(scope="module")
def expected(sample_data_dir) -> pd.DataFrame:
    return pd.read_csv(
        sample_data_dir / "aaa_expected_cases.csv", dtype={"site_id": str, "month": str}
    )


def test_site_month_counts_match_generator(procedures, expected, truth):
    out = case_ascertainment(procedures, expected, by=["site_id", "month"])
    want = truth.aaa_site_months.sort_values(["site_id", "month"]).reset_index(
        drop=True
    )
    assert (
        out[["site_id", "month"]].values.tolist()
        == want[["site_id", "month"]].values.tolist()
    )
    np.testing.assert_array_equal(out.submitted, want.submitted)
    np.testing.assert_array_equal(out.expected, want.expected)


def test_ascertainment_recovers_truth(procedures, expected, truth):
    out = case_ascertainment(procedures, expected, by="site_id").set_index("site_id")
    months = truth.aaa_site_months.assign(
        weighted=lambda d: d.true_cases * d.true_ascertainment
    )
    sums = months.groupby("site_id")[["weighted", "true_cases"]].sum()
    true_asc = sums.weighted / sums.true_cases
    covered = (out.lower_95 <= true_asc) & (true_asc <= out.upper_95)
    assert covered.mean() >= 0.85  # nominal 95%; expected counts are themselves noisy
    for site, rate in AAA_LOW_ASCERTAINMENT_SITES.items():
        assert out.lower_95[site] - 0.02 <= rate <= out.upper_95[site] + 0.02
        assert out.ascertainment[site] < 0.8


def test_improving_region_ascertainment(procedures, expected, truth):
    regions = truth.aaa_sites[["site_id", "region"]]
    sub = procedures.merge(regions, on="site_id")
    exp = expected.merge(regions, on="site_id")
    out = case_ascertainment(sub, exp, by=["region", "month"])
    east = out[out.region == AAA_IMPROVING_REGION]
    first = east.iloc[:6][["submitted", "expected"]].sum()
    last = east.iloc[-6:][["submitted", "expected"]].sum()
    months = truth.aaa_site_months.merge(regions, on="site_id")
    months = months[months.region == AAA_IMPROVING_REGION].sort_values("month")
    ordered = sorted(months.month.unique())
    for part, got in ((ordered[:6], first), (ordered[-6:], last)):
        m = months[months.month.isin(part)]
        want = (m.true_cases * m.true_ascertainment).sum() / m.true_cases.sum()
        assert got.submitted / got.expected == pytest.approx(want, abs=0.05)


def test_completeness_recovers_missing_rates(procedures):
    out = field_completeness(procedures, by="site_id", schema="aaa_procedures")
    truth = pd.DataFrame(
        [
            (s, f, 1 - r)
            for s, rates in AAA_MISSING_RATES.items()
            for f, r in rates.items()
        ],
        columns=["site_id", "field", "true"],
    )
    merged = out.merge(truth, on=["site_id", "field"])
    assert len(merged) == len(truth)
    covered = (merged.lower_95 <= merged.true) & (merged.true <= merged.upper_95)
    assert covered.mean() >= 0.9
    for field, sites in AAA_HIGH_MISSING.items():
        for site, rate in sites.items():
            row = merged[(merged.site_id == site) & (merged.field == field)].iloc[0]
            assert 1 - row.proportion == pytest.approx(rate, abs=0.12)
    # The file passes the schema: every mandatory field is complete.
    assert (out[out.field == "all_mandatory_fields"].proportion == 1).all()


def test_timeliness_recovers_entry_lags(procedures, truth):
    out = timeliness(
        procedures,
        event_date="procedure_date",
        entry_date="record_entered_date",
        by="site_id",
    )
    merged = out.merge(truth.aaa_sites, on="site_id")
    for d in (30, 90):
        p = merged[f"p_within_{d}"]
        z = (merged[f"within_{d}"] - p) / np.sqrt(p * (1 - p) / merged.n)
        assert (z.abs() < 2).mean() >= 0.9
        assert z.abs().max() < 4
    long = merged.site_id.isin(AAA_LONG_LAG_SITES)
    assert (merged.median_lag_days[long] > 40).all()
    assert merged.median_lag_days[~long].max() < 30
    assert out.invalid_dates.sum() == 0 and out.missing_dates.sum() == 0


def test_volume_matches_generator(procedures, truth):
    out = submission_volume(procedures, date="procedure_date")
    want = truth.aaa_site_months.groupby("month").submitted.sum()
    assert out.period.tolist() == want.index.tolist()
    assert out.cases.tolist() == want.tolist()
    by_site = submission_volume(procedures, date="procedure_date", by="site_id")
    assert len(by_site) == 70 * 36


def test_data_quality_marks_low_ascertainment(procedures, expected):
    out = data_quality(
        procedures,
        schema="aaa_procedures",
        expected=expected,
        event_date="procedure_date",
        entry_date="record_entered_date",
        event_label="the operation",
    )
    assert len(out) == 70 and out.unit.is_monotonic_increasing
    flagged = set(out.unit[out.ascertainment_concern])
    assert set(AAA_LOW_ASCERTAINMENT_SITES) <= flagged
    # S22 has the most creatinine missing: named first among its fields.
    s22 = out.set_index("unit").message["S22"]
    first_field = [p for p in s22.split("; ") if "records missing" in p][0]
    assert first_field.endswith("records missing creatinine_umol_l")
    assert out.complete_records.dtype == np.int64


def test_outputs_feed_funnel_and_spc(procedures, expected):
    import ccdata

    volume = submission_volume(procedures, date="procedure_date")
    chart = ccdata.spc(volume, x="period", value="cases", chart="c")
    assert type(chart).__name__ == "SPCResult"
    comp = field_completeness(procedures, by="site_id", fields=["creatinine_umol_l"])
    comp = comp[comp.field == "creatinine_umol_l"]
    funnel = ccdata.funnel(
        comp, numerator="present", denominator="expected", kind="proportion"
    )
    assert type(funnel).__name__ == "FunnelResult"
    asc = case_ascertainment(procedures, expected, by="site_id")
    funnel = ccdata.funnel(
        asc[~asc.over_expected],
        numerator="submitted",
        denominator="expected",
        kind="proportion",
    )
    assert type(funnel).__name__ == "FunnelResult"
