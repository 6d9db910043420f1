"""Issue 14: published data-quality tables do not give small counts back.

A source's data-quality tables are published side by side (per site and
field, all sites together, the per-site summary with its message, timeliness,
ascertainment). A small count can come back by subtraction: missing values
as expected minus present, incomplete records as records minus complete
records, cases not submitted as expected minus submitted, late records as
n times one minus the share in time, a site's cell as the all-sites total
minus the other sites, or from the same number in another table or in the
message. The tests build such tables from records, publish them with
:func:`publication_quality_set` and try each recovery.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ccdata.completeness import quality_tables
from ccdata.report.disclosure import (
    COMPLEMENTARY_LABEL,
    hidden_rows,
    publication_quality_set,
)

M = 5
COUNTS = {
    "present", "expected", "records", "complete_records", "submitted",
    "entered_late", "invalid_dates", "missing_dates", "n",
}  # fmt: skip
SITES = [f"S{i:02d}" for i in range(1, 9)]


def _num(v: object) -> float | None:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(x) else x


def records(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records of 8 sites with a few small missing and late counts."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in SITES:
        n = int(rng.integers(20, 80))
        event = pd.Timestamp("2025-01-01") + pd.to_timedelta(
            rng.integers(0, 300, n), unit="D"
        )
        lag = np.where(rng.random(n) < rng.choice([0.0, 0.04, 0.3]), 200, 10)
        x = np.where(rng.random(n) < rng.choice([0.0, 0.05, 0.2]), np.nan, 1.0)
        y = np.where(rng.random(n) < 0.03, np.nan, 2.0)
        for i in range(n):
            rows.append(
                (s, event[i], event[i] + pd.Timedelta(days=int(lag[i])), x[i], y[i])
            )
    data = pd.DataFrame(rows, columns=["site_id", "op", "entered", "x", "y"])
    got = data.groupby("site_id").size()
    expected = pd.DataFrame(
        {
            "site_id": SITES,
            "expected": [int(got[s] + rng.choice([0, 2, 3, 9, 15])) for s in SITES],
        }
    )
    return data, expected


def tables(seed: int) -> dict[str, pd.DataFrame]:
    data, expected = records(seed)
    t = quality_tables(
        data,
        fields=["x", "y"],
        event_date="op",
        entry_date="entered",
        within_days=90,
        expected=expected,
    )
    return {f"data_quality_src_{k}": v for k, v in t.items()}


def published(seed: int) -> tuple[dict, dict]:
    true = tables(seed)
    shown = publication_quality_set(true, min_count=M)
    return true, {k: v.reset_index(drop=True) for k, v in shown.items()}


SEEDS = list(range(12))


@pytest.mark.parametrize("seed", SEEDS)
def test_no_visible_difference_is_a_small_count(seed):
    _, shown = published(seed)
    pairs = {
        "fields": [("expected", "present")],
        "fields_overall": [("expected", "present")],
        "summary": [("records", "complete_records"), ("expected", "submitted")],
        "ascertainment": [("expected", "submitted")],
    }
    for key, cols in pairs.items():
        t = shown[f"data_quality_src_{key}"]
        for tot, part in cols:
            a = t[tot].map(_num)
            b = t[part].map(_num)
            diff = (a - b)[a.notna() & b.notna()]
            assert not diff.between(1, M - 1).any(), (seed, key, tot, part)
    tl = shown["data_quality_src_timeliness"]
    n, share = tl["n"].map(_num), tl["within_90"].map(_num)
    late = (n * (1 - share)).round()[n.notna() & share.notna()]
    assert not late.between(1, M - 1).any(), seed
    # and no small count is shown as a number anywhere
    for name, t in shown.items():
        for col in COUNTS & set(t.columns):
            vals = t[col].map(_num).dropna()
            assert not vals.between(1, M - 1).any(), (seed, name, col)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_missing_count_comes_back_from_the_all_sites_table(seed):
    true, shown = published(seed)
    fields = shown["data_quality_src_fields"]
    tf = true["data_quality_src_fields"].reset_index(drop=True)
    overall = true["data_quality_src_fields_overall"].set_index("field")
    for field, block in fields.groupby("field"):
        hid = ~block["present"].map(_num).notna().to_numpy()
        if not hid.any():
            continue
        # the reader: overall missing minus the visible sites' missing
        miss = tf.loc[block.index, "expected"] - tf.loc[block.index, "present"]
        total = int(overall.loc[field, "expected"] - overall.loc[field, "present"])
        rest = total - int(miss[~hid].sum())
        assert rest == int(miss[hid].sum())
        assert hid.sum() >= 2, (seed, field, "a lone hidden cell")
        small = miss[hid].between(1, M - 1).to_numpy()
        if small.all():  # every hidden cell small: is each one pinned?
            k = int(hid.sum())
            lo, hi = max(1, rest - (k - 1) * (M - 1)), min(M - 1, rest - (k - 1))
            assert hi > lo, (seed, field)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_same_count_is_hidden_in_every_table_that_shows_it(seed):
    """A count hidden in one table must not be shown in another."""
    _, shown = published(seed)
    summary = shown["data_quality_src_summary"].set_index("site_id")
    links = [
        ("ascertainment", None, {"submitted": "submitted", "expected": "expected"}),
        ("timeliness", None, {"invalid_dates": "invalid_dates",
                              "missing_dates": "missing_dates"}),
        ("fields", "all_mandatory_fields", {"present": "complete_records",
                                            "expected": "records"}),
        ("fields", None, {"expected": "records"}),
    ]  # fmt: skip
    for key, field, cols in links:
        t = shown[f"data_quality_src_{key}"]
        if field is not None:
            t = t[t["field"] == field]
        for _, row in t.iterrows():
            for col, scol in cols.items():
                a, b = row[col], summary.loc[row["site_id"], scol]
                assert (_num(a) is None) == (_num(b) is None), (seed, key, col, a, b)
                if _num(a) is not None:
                    assert _num(a) == _num(b)
    tl = shown["data_quality_src_timeliness"].set_index("site_id")
    for sid, row in tl.iterrows():
        late_hidden = _num(summary.loc[sid, "entered_late"]) is None
        if late_hidden:  # the share would give the late count back
            assert _num(row["within_90"]) is None, (seed, sid)


@pytest.mark.parametrize("seed", SEEDS)
def test_messages_give_no_hidden_count_back(seed):
    true, shown = published(seed)
    summary = shown["data_quality_src_summary"]
    fields = shown["data_quality_src_fields"]
    tf = true["data_quality_src_fields"]
    hid = hidden_rows(fields)
    for site, field in zip(fields["site_id"][hid], fields["field"][hid], strict=True):
        row = tf[(tf["site_id"] == site) & (tf["field"] == field)].iloc[0]
        missing = int(row["expected"] - row["present"])
        msg = summary.loc[summary["site_id"] == site, "message"].iloc[0]
        clause = rf"(?<![\d<]){missing} of \d+ records missing {field}\b"
        assert not re.search(clause, msg), msg
    for msg in summary["message"]:
        for token in msg.replace(";", " ").split():
            v = _num(token)
            if v is not None:
                assert not 1 <= v < M, msg


def test_the_worked_example():
    """Three sites: 97 of 100, 50 of 60, 60 of 60 present; the 3 missing of
    S01 is hidden, and with it S02's 10 (else the all-sites 13 gives 3)."""
    t = {
        "data_quality_s_fields": pd.DataFrame(
            {
                "site_id": ["S01", "S02", "S03"],
                "field": "x",
                "present": [97, 50, 60],
                "expected": [100, 60, 60],
                "proportion": [0.97, 50 / 60, 1.0],
            }
        ),
        "data_quality_s_fields_overall": pd.DataFrame(
            {
                "field": ["x"],
                "present": [207],
                "expected": [220],
                "proportion": [207 / 220],
            }
        ),  # fmt: skip
    }
    out = publication_quality_set(t, min_count=M)
    f = out["data_quality_s_fields"]
    assert f["present"].tolist() == [COMPLEMENTARY_LABEL, COMPLEMENTARY_LABEL, 60]
    assert f["proportion"].tolist()[:2] == ["", ""]
    assert out["data_quality_s_fields_overall"]["present"].tolist() == [207]
    # nothing to hide: unchanged
    same = publication_quality_set(t, min_count=3)
    assert same["data_quality_s_fields"]["present"].tolist() == [97, 50, 60]
