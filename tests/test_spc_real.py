"""ccdata.spc on the real qicharts2 and NHS England data sets.

The expected values are the ones published in the qicharts2 vignette
("Quality Improvement Charts", Anhøj) for the same data; see
tests/reference/spc/README.md for provenance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ccdata.variation import spc


@pytest.fixture(scope="module")
def real(sample_data_dir):
    return sample_data_dir / "real"


def test_cdi_run_chart_frozen_baseline(real):
    # vignette: "The median number of CDIs per month in the before period is 19.
    # An unusually long run of 15 data points below the median"
    cdi = pd.read_csv(real / "qicharts2_cdi.csv")
    res = spc(cdi, chart="run", x="month", value="n", freeze=24)
    s = res.phases.iloc[0]
    assert s["centre"] == 19
    assert s["longest_run"] == 15 and s["runs_signal"]
    long_run = res.points.loc[res.points["long_run"]]
    assert len(long_run) == 15 and (long_run["y"] < 19).all()


def test_cdi_c_chart_with_two_phases(real):
    # vignette: "the CDI rate has dropped from an average of 19 to 7 per month
    # ... we should expect between 0 and 15 CDIs per month"
    cdi = pd.read_csv(real / "qicharts2_cdi.csv")
    s = spc(cdi, chart="c", x="month", value="n", part=24).phases
    assert s["centre"].round().tolist() == [19, 7]
    assert s["lcl"].iloc[1] == 0 and round(s["ucl"].iloc[1]) == 15
    assert s["centre"].iloc[0] == pytest.approx(cdi["n"][:24].mean())
    assert not s["runs_signal"].any() and (s["n_outside"] == 0).all()


def test_cabg_i_and_mr_charts_of_age(real):
    # vignette: two patients (numbers 45 and 70) below the lower limit; the MR
    # chart identifies three unusually large ranges
    cabg = pd.read_csv(real / "qicharts2_cabg.csv").tail(100).reset_index(drop=True)
    cabg["patient"] = np.arange(1, 101)
    i_chart = spc(cabg, chart="i", x="patient", value="age").points
    below = i_chart.loc[i_chart["outside"], ["x", "y", "lower"]]
    assert below["x"].tolist() == [45, 70] and (below["y"] < below["lower"]).all()
    mr = spc(cabg, chart="mr", x="patient", value="age").points
    assert mr["outside"].sum() == 3


def test_cabg_readmissions_p_chart(real):
    # vignette: "On average, 22% of patients are readmitted within 30 days"
    cabg = pd.read_csv(real / "qicharts2_cabg.csv")
    cabg["month"] = cabg["date"].str[:7]
    g = cabg.groupby("month").agg(readmissions=("readmission", "sum"),
                                  n=("readmission", "size")).reset_index()  # fmt: skip
    s = spc(g, chart="p", x="month", numerator="readmissions", denominator="n").phases
    assert round(100 * s["centre"].item()) == 22
    assert not s["runs_signal"].item() and s["n_outside"].item() == 0


def test_hospital_infections_by_two_columns(real):
    # vignette: "Non-random variation is present in UTI rates of two hospitals
    # (BOH, NOH)" in the u charts faceted by infection and hospital
    hai = pd.read_csv(real / "qicharts2_hospital_infections.csv")
    with pytest.warns(FutureWarning, match="'by' parameter"):
        res = spc(hai, chart="u", x="month", numerator="n", denominator="days",
                  by=["infection", "hospital"])  # fmt: skip
    s = res.phases
    assert len(s) == 18 and (s["n_points"] == 24).all()
    flagged = s.loc[s["runs_signal"], ["infection", "hospital"]].values.tolist()
    assert flagged == [["UTI", "BOH"], ["UTI", "NOH"]]


def test_nhs_accidents_p_versus_p_prime(real):
    # vignette, case 5: the P chart limits are too narrow for denominators
    # above 250,000 (over-dispersion); the P' chart takes the between-week
    # variation into account and resembles the I chart
    acc = pd.read_csv(real / "qicharts2_nhs_accidents.csv")
    p = spc(acc, chart="p", x="i", numerator="r", denominator="n")
    pp = spc(acc, chart="pp", x="i", numerator="r", denominator="n")
    i = spc(acc, chart="i", x="i", numerator="r", denominator="n")
    assert p.phases["n_outside"].item() > 10
    assert pp.phases["n_outside"].item() == 0
    assert pp.phases["sigma_z"].item() > 5
    # P' limits close to the I chart limits (within 0.1 percentage points)
    assert abs(pp.points["upper"].mean() - i.phases["ucl"].item()) < 1e-3


def test_ae_trust_p_prime_example(real):
    """The example of docs/examples/ae_pprime_chart.md."""
    ae = pd.read_csv(real / "ae_attendances.csv", dtype={"type": str},
                     parse_dates=["period"])  # fmt: skip
    type1 = ae[ae["type"] == "1"].copy()
    months = type1.groupby("org_code")["period"].nunique()
    trust = months[months == 36].index.min()
    one = type1[type1["org_code"] == trust].assign(
        within_4h=lambda d: d["attendances"] - d["breaches"]
    )
    res = spc(one, chart="pp", x="period", numerator="within_4h",
              denominator="attendances", direction="increase")  # fmt: skip
    s = res.phases.iloc[0]
    assert trust == "R1F"
    pooled = one["within_4h"].sum() / one["attendances"].sum()
    assert s["centre"] == pytest.approx(pooled)
    assert (s["longest_run"], s["longest_run_max"]) == (9, 8) and s["runs_signal"]
    concern = res.points.loc[res.points["point_type"] == "special_cause_concern", "x"]
    expected = [f"2018-{k:02d}" for k in range(6, 13)] + ["2019-01", "2019-02"]
    assert concern.dt.strftime("%Y-%m").tolist() == expected
