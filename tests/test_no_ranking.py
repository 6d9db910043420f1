"""No function in ccdata produces a rank, a position or a sort by performance.

Every table a public function returns is in unit-id order whatever the order of
its input, and no column is a rank, position or percentile of performance.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import ccdata

RANK_COLUMN = re.compile(r"rank|position|percentile|league|order", re.IGNORECASE)


@pytest.fixture(scope="module")
def aaa(sample_data_dir):
    data = pd.read_csv(sample_data_dir / "aaa_procedures.csv")
    # Shuffle: outputs must not depend on the order in which records arrive.
    return data.sample(frac=1.0, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="module")
def per_site(aaa):
    table = aaa.groupby("site_id", as_index=False).agg(
        deaths=("died_in_hospital", "sum"), cases=("died_in_hospital", "size")
    )
    return table.sample(frac=1.0, random_state=3)


def _assert_id_order(table: pd.DataFrame, unit: str) -> None:
    ids = table[unit].astype(str).tolist()
    assert ids == sorted(ids), f"{unit} not in id order"
    bad = [c for c in table.columns if RANK_COLUMN.search(str(c))]
    assert not bad, f"rank-like columns {bad}"


def test_funnel_units_in_id_order(per_site):
    result = ccdata.funnel(per_site, numerator="deaths", denominator="cases")
    _assert_id_order(result.units, "unit")
    # The most extreme unit is not moved to the top.
    assert result.units["unit"].iloc[0] == "S01"


def test_funnel_change_in_id_order(per_site):
    after = per_site.assign(deaths=per_site["deaths"] // 2)
    result = ccdata.funnel_change(
        per_site, after, numerator="deaths", denominator="cases"
    )
    _assert_id_order(result.units, "unit")


def test_observed_expected_in_id_order(aaa):
    rng = np.random.default_rng(1)
    data = aaa.assign(expected=rng.uniform(0.01, 0.05, len(aaa)))
    table = ccdata.observed_expected(
        data, unit="site_id", outcome="died_in_hospital", expected="expected"
    ).units
    _assert_id_order(table, "unit")


def test_completeness_tables_in_site_order(aaa):
    fields = ccdata.field_completeness(aaa, unit="site_id", fields=["asa_grade"])
    _assert_id_order(fields[fields["field"] == "asa_grade"], "unit")
    lags = ccdata.timeliness(
        aaa,
        event_date="procedure_date",
        entry_date="record_entered_date",
        unit="site_id",
    )
    _assert_id_order(lags, "unit")
    quality = ccdata.data_quality(aaa, fields=["asa_grade"])
    _assert_id_order(quality, "unit")


def test_spc_summary_in_series_order(sample_data_dir):
    ckd = pd.read_csv(sample_data_dir / "ckd_care_bundle.csv")
    ckd = ckd.sample(frac=1.0, random_state=5)
    result = ccdata.spc(
        ckd,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        unit="site_id",
    )
    _assert_id_order(result.phases.drop_duplicates("unit"), "unit")
