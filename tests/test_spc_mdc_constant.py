"""spc(chart="i", mr_constant=2.66): Making Data Count's limits, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ccdata.errors import InputError
from ccdata.variation import spc


@pytest.fixture
def ae(sample_data_dir):
    df = pd.read_csv(sample_data_dir / "real" / "ae_attendances.csv")
    df = df[df["type"] == "1"].copy()
    df["performance"] = 1 - df["breaches"] / df["attendances"]
    counts = df.groupby("org_code")["period"].nunique()
    orgs = sorted(counts[counts == counts.max()].index)[:12]
    return df[df["org_code"].isin(orgs)].sort_values(["org_code", "period"])


def _mdc_by_hand(y: np.ndarray, screen: bool) -> tuple[float, float, float]:
    """NHSRplotthedots/Making Data Count: mean +/- 2.66 x mean moving range."""
    mr = np.abs(np.diff(y))
    amr = mr.mean()
    if screen:  # moving ranges at or above 3.267 x mR-bar are left out
        amr = mr[mr < 3.267 * amr].mean()
    centre = y.mean()
    return centre, centre - 2.66 * amr, centre + 2.66 * amr


@pytest.mark.parametrize("screen", [False, True])
def test_mdc_constant_reproduces_making_data_count(ae, screen):
    res = spc(
        ae,
        chart="i",
        x="period",
        value="performance",
        by="org_code",
        mr_constant=2.66,
        screen_moving_ranges=screen,
    )
    summary = res.summary.set_index("org_code")
    for org, g in ae.groupby("org_code"):
        centre, lcl, ucl = _mdc_by_hand(g["performance"].to_numpy(), screen)
        row = summary.loc[org]
        assert abs(row["centre"] - centre) <= 1e-12
        assert abs(row["lcl"] - lcl) <= 1e-12
        assert abs(row["ucl"] - ucl) <= 1e-12
    pts = res.points
    assert (pts["upper"] - pts["centre"]).to_numpy() == pytest.approx(
        (
            summary.loc[pts["org_code"], "ucl"] - summary.loc[pts["org_code"], "centre"]
        ).to_numpy(),
        abs=1e-12,
    )


def test_default_stays_three_over_d2(ae):
    one = ae[ae["org_code"] == ae["org_code"].iloc[0]]
    y = one["performance"].to_numpy()
    amr = np.abs(np.diff(y)).mean()
    res = spc(one, chart="i", x="period", value="performance",
              screen_moving_ranges=False)  # fmt: skip
    assert res.summary["ucl"].item() == pytest.approx(y.mean() + 3 * amr / 1.128)
    mdc = spc(one, chart="i", x="period", value="performance",
              screen_moving_ranges=False, mr_constant=2.66)  # fmt: skip
    assert mdc.summary["ucl"].item() == pytest.approx(y.mean() + 2.66 * amr, abs=1e-12)
    assert mdc.summary["ucl"].item() != res.summary["ucl"].item()


def test_mr_constant_errors(ae):
    with pytest.raises(InputError, match="mr_constant"):
        spc(ae, chart="i", x="period", value="performance", by="org_code",
            mr_constant=-1)  # fmt: skip
    with pytest.raises(InputError, match="chart='i' only"):
        spc(ae, chart="p", x="period", numerator="breaches",
            denominator="attendances", by="org_code", mr_constant=2.66)  # fmt: skip
