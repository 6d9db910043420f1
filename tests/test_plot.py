"""Structural and safety tests of ccdata.plot: inspect the artists drawn."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors
import matplotlib.text as mtext
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import ccdata.plot as cp
from ccdata._wording import limit_label
from ccdata.errors import InputError
from ccdata.plot import _theme as th
from ccdata.plot._spc import mid_steps

_spec = importlib.util.spec_from_file_location(
    "_plot_data", Path(__file__).with_name("_plot_data.py")
)
plot_data = importlib.util.module_from_spec(_spec)
sys.modules["_plot_data"] = plot_data
_spec.loader.exec_module(plot_data)

BANNED = re.compile(r"\b(worst|best|rank\w*|league|position)\b", re.I)
JUDGEMENT = re.compile(r"\b(better|worse|improvement|concern)\b", re.I)


def new_ax():
    return Figure(figsize=(5, 3.5)).subplots()


def texts(fig) -> list[str]:
    """Every piece of text in the figure: titles, ticks, annotations, legend."""
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    out = [t.get_text() for t in fig.findobj(mtext.Text)]
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
        out += [lab.get_text() for lab in ax.get_xticklabels() + ax.get_yticklabels()]
    return [t for t in out if t]


def unit_offsets(ax) -> np.ndarray:
    parts = [
        c.get_offsets()
        for c in ax.collections
        if str(c.get_gid()).startswith(("units:", "highlight"))
    ]
    return np.concatenate(parts) if parts else np.empty((0, 2))


def used_colours(fig) -> set[str]:
    cols: set[str] = set()
    for c in fig.findobj(matplotlib.collections.Collection):
        for arr in (c.get_facecolors(), c.get_edgecolors()):
            cols |= {mcolors.to_hex(a) for a in np.atleast_2d(arr) if len(a)}
    for line in fig.findobj(matplotlib.lines.Line2D):
        cols.add(mcolors.to_hex(line.get_color()))
    for p in fig.findobj(matplotlib.patches.Polygon):
        cols.add(mcolors.to_hex(p.get_facecolor()))
    return cols


def _is_red_or_green(hex_colour: str) -> bool:
    r, g, b = mcolors.to_rgb(hex_colour)
    h, s, v = mcolors.rgb_to_hsv([r, g, b])
    hue = h * 360
    saturated = s > 0.35 and v > 0.3
    return saturated and (hue < 15 or hue > 345 or 90 < hue < 150)


# ----------------------------------------------------------------- fixtures
@pytest.fixture(params=["contract", "real"])
def funnel_result(request, sample_data_dir):
    if request.param == "contract":
        return plot_data.contract_funnel()
    from ccdata.comparison import funnel

    bugs = pd.read_csv(sample_data_dir / "real" / "bugs_surgical.csv")
    return funnel(
        bugs,
        numerator="deaths_r",
        denominator="operations_n",
        unit="hospital",
        kind="proportion",
    )


@pytest.fixture
def spc_p():
    from ccdata.variation import spc

    return spc(
        plot_data.cdi(),
        chart="p",
        x="month",
        numerator="n",
        denominator="days",
        freeze=6,
    )


@pytest.fixture
def spc_parts():
    from ccdata.variation import spc

    return spc(
        plot_data.cdi(),
        chart="u",
        x="month",
        numerator="n",
        denominator="days",
        part=[8],
    )


@pytest.fixture(scope="module")
def hospitals(sample_data_dir_module):
    from ccdata.variation import spc

    hi = pd.read_csv(
        sample_data_dir_module / "real" / "qicharts2_hospital_infections.csv",
        parse_dates=["month"],
    )
    hi = hi[hi["infection"] == "BAC"]
    return spc(
        hi, chart="u", x="month", numerator="n", denominator="days", unit="hospital"
    )


@pytest.fixture(scope="module")
def sample_data_dir_module():
    return Path(__file__).resolve().parents[1] / "sample_data"


# ------------------------------------------------------------------ funnel
def test_funnel_draws_one_point_per_unit(funnel_result):
    ax = cp.funnel(funnel_result, ax=new_ax())
    assert len(unit_offsets(ax)) == len(funnel_result.units)


def test_funnel_limit_lines_and_legend_labels(funnel_result):
    ax = cp.funnel(funnel_result, ax=new_ax())
    lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        assert f"limit:{col}" in lines
    assert lines["limit:upper_95"].get_linestyle() == "--"
    assert lines["limit:upper_998"].get_linestyle() == "-"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert limit_label(0.95) == "95% limits (about 2 SD)"
    assert limit_label(0.95) in labels
    assert limit_label(0.998) == "99.8% limits (about 3 SD)"
    assert limit_label(0.998) in labels
    assert labels.count(limit_label(0.95)) == 1
    # no target was given: the centre line is the community average
    assert any(t.startswith("Community average (") for t in labels)
    assert not any("target" in t.lower() for t in labels)
    curve = funnel_result.curve.sort_values("denominator")
    x, y = lines["limit:upper_998"].get_data()
    expect = np.interp(x, curve["denominator"], curve["upper_998"]) * 100
    np.testing.assert_allclose(y, expect, rtol=1e-9)


def test_funnel_highlight_position_equals_its_data(funnel_result):
    units = funnel_result.units
    own = units.iloc[2]
    ax = cp.funnel(funnel_result, highlight=own["unit"], ax=new_ax())
    hl = [c for c in ax.collections if c.get_gid() == "highlight"]
    assert len(hl) == 1
    np.testing.assert_allclose(
        hl[0].get_offsets()[0], [own["denominator"], own["value"] * 100]
    )
    assert len(unit_offsets(ax)) == len(units)


def test_site_view_never_shows_another_sites_identifier(funnel_result):
    units = funnel_result.units
    own = str(units["unit"].iloc[2])
    ax = cp.funnel(
        funnel_result,
        highlight=own,
        period="2025/26",
        title=f"{own}: your unit",
        ax=new_ax(),
    )
    all_text = texts(ax.figure)
    others = [str(u) for u in units["unit"] if str(u) != own]
    for other in others:
        pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(other)}(?![A-Za-z0-9])")
        assert not any(pattern.search(t) for t in all_text), other
        assert not pattern.search(cp.describe(funnel_result, highlight=own))
    assert any(own in t for t in all_text)
    assert not [a for a in ax.texts if a.get_gid() == "unit-label"]


@pytest.mark.parametrize("labels", ["none", "outside", "all"])
def test_funnel_labels(funnel_result, labels):
    ax = cp.funnel(funnel_result, labels=labels, ax=new_ax())
    got = sorted(a.get_text() for a in ax.texts if a.get_gid() == "unit-label")
    units = funnel_result.units
    want = {
        "none": [],
        "all": sorted(units["unit"].astype(str)),
        "outside": sorted(units.loc[units["status"] != "within", "unit"].astype(str)),
    }
    assert got == want[labels]


def test_funnel_rejects_labels_in_site_view_and_unknown_unit(funnel_result):
    own = funnel_result.units["unit"].iloc[0]
    with pytest.raises(InputError, match="labels"):
        cp.funnel(funnel_result, highlight=own, labels="outside", ax=new_ax())
    with pytest.raises(InputError, match="highlight") as err:
        cp.funnel(funnel_result, highlight="NOT-A-UNIT", ax=new_ax())
    assert str(funnel_result.units["unit"].iloc[1]) not in str(err.value)
    with pytest.raises(InputError, match="labels"):
        cp.funnel(funnel_result, labels="some", ax=new_ax())
    with pytest.raises(InputError, match="direction"):
        cp.funnel(funnel_result, direction="up", ax=new_ax())


def test_funnel_outside_by_shape_and_fill_not_colour():
    r = plot_data.contract_funnel()
    ax = cp.funnel(r, ax=new_ax())
    by_gid = {c.get_gid(): c for c in ax.collections}
    above = by_gid["units:above_998"]
    below = by_gid["units:below_95"]
    # without a direction: one neutral (Making Data Count purple) colour, told
    # apart by shape (up/down) and fill
    assert mcolors.to_hex(above.get_facecolors()[0]) == th.NEUTRAL.lower()
    assert mcolors.to_hex(below.get_facecolors()[0]) == "#ffffff"
    assert mcolors.to_hex(below.get_edgecolors()[0]) == th.NEUTRAL.lower()
    up, down = above.get_paths()[0].vertices, below.get_paths()[0].vertices
    assert abs(up[np.argmax(up[:, 1]), 0]) < 1e-9 and len(up) <= 5  # apex up
    assert abs(down[np.argmin(down[:, 1]), 0]) < 1e-9  # apex down
    assert not any(_is_red_or_green(c) for c in used_colours(ax.figure))


def test_funnel_making_data_count_colours_with_direction():
    r = plot_data.contract_funnel()  # S03 above the 99.8% limit, S09 below 95%
    ax = cp.funnel(r, direction="decrease", ax=new_ax())
    by_gid = {c.get_gid(): c for c in ax.collections}
    above, below = by_gid["units:above_998"], by_gid["units:below_95"]
    assert mcolors.to_hex(above.get_facecolors()[0]) == "#e46c0a"  # concern
    assert mcolors.to_hex(below.get_edgecolors()[0]) == "#00b0f0"  # improvement
    ax = cp.funnel(r, direction="increase", ax=new_ax())
    by_gid = {c.get_gid(): c for c in ax.collections}
    assert mcolors.to_hex(by_gid["units:above_998"].get_facecolors()[0]) == "#00b0f0"
    assert (
        mcolors.to_hex(by_gid["units:within"].get_facecolors()[0]) == th.POINT.lower()
    )


def test_own_site_colour_is_used_by_no_line():
    r = plot_data.contract_funnel()
    ax = cp.funnel(r, highlight="S07", ax=new_ax())
    own = next(c for c in ax.collections if c.get_gid() == "highlight")
    colour = mcolors.to_hex(own.get_facecolors()[0])
    lines = {mcolors.to_hex(line.get_color()) for line in ax.lines}
    assert colour not in lines and colour != mcolors.to_hex(th.TARGET)


def test_funnel_words_only_with_direction():
    r = plot_data.contract_funnel()
    neutral = " ".join(texts(cp.funnel(r, ax=new_ax()).figure))
    assert not JUDGEMENT.search(neutral) and not BANNED.search(neutral)
    judged = " ".join(
        texts(cp.funnel(r, direction="lower_is_better", ax=new_ax()).figure)
    )
    assert "worse than expected" in judged  # S03 is above; lower is better
    assert "better than expected" in judged  # S09 is below
    d = cp.describe(r)
    assert not JUDGEMENT.search(d) and not BANNED.search(d)
    assert "better" in cp.describe(r, direction="lower_is_better")


def test_funnel_caption_states_method_period_units_overdispersion():
    r = plot_data.contract_funnel()
    ax = cp.funnel(r, period="April 2025 to March 2026", ax=new_ax())
    cap = [a.get_text() for a in ax.texts if a.get_gid() == "caption"][0]
    cap = cap.replace("\n", " ")
    assert "normal limits" in cap and "April 2025 to March 2026" in cap
    assert "12 units" in cap and "over-dispersion not allowed for" in cap
    r2 = plot_data.ContractFunnel(r.units, r.curve, r.target, phi=2.1, tau2=0.004)
    from ccdata.plot._funnel import funnel_caption

    assert (
        "over-dispersion allowed for (additive, tau\u00b2 = 0.004)"
        in funnel_caption(r2)
    )


def test_funnel_scales():
    r = plot_data.contract_funnel()
    ax = cp.funnel(r, log_denominator=True, ax=new_ax())
    ax.figure.canvas.draw()
    assert ax.get_xscale() == "log"
    assert all(t.get_text().endswith("%") for t in ax.get_yticklabels() if t.get_text())
    ratio = plot_data.ContractFunnel(
        r.units.assign(value=r.units["value"] * 10), r.curve, 1.0, kind="ratio"
    )
    ax = cp.funnel(ratio, ax=new_ax())
    assert ax.get_ylabel() == "Ratio (observed / expected)"
    np.testing.assert_allclose(
        unit_offsets(ax)[:, 1].mean(), ratio.units["value"].mean()
    )
    ax = cp.funnel(ratio, multiplier=100, ax=new_ax())
    np.testing.assert_allclose(
        unit_offsets(ax)[:, 1].mean(), ratio.units["value"].mean() * 100
    )


def test_uses_current_axes_and_never_shows(monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show called"))
    fig, ax = plt.subplots()
    assert cp.funnel(plot_data.contract_funnel()) is ax


# ------------------------------------------- poor ascertainment, site-view safety
def ring_offsets(ax, gid_prefix="flagged") -> np.ndarray:
    parts = [
        c.get_offsets()
        for c in ax.collections
        if str(c.get_gid()).startswith(gid_prefix)
    ]
    return np.concatenate(parts) if parts else np.empty((0, 2))


def test_funnel_rings_flagged_units_at_their_positions(funnel_result):
    units = funnel_result.units
    flagged = [str(u) for u in units["unit"].iloc[[0, 3]]]
    ax = cp.funnel(funnel_result, flagged=flagged, ax=new_ax())
    want = units[units["unit"].astype(str).isin(flagged)]
    got = ring_offsets(ax)
    np.testing.assert_allclose(
        got[np.argsort(got[:, 0])],
        np.column_stack([want["denominator"], want["value"] * 100])[
            np.argsort(want["denominator"].to_numpy())
        ],
    )
    rings = [c for c in ax.collections if str(c.get_gid()).startswith("flagged")]
    assert all(ls[1] is not None for c in rings for ls in c.get_linestyles())  # dotted
    assert all(
        (c.get_facecolors().size == 0 or c.get_facecolors()[0][3] == 0) for c in rings
    )  # hollow: the status marker stays visible
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels.count("Case ascertainment below 80%") == 1
    assert len(unit_offsets(ax)) == len(units)  # the points themselves unchanged
    assert not any(_is_red_or_green(c) for c in used_colours(ax.figure))
    assert len(ring_offsets(cp.funnel(funnel_result, ax=new_ax()))) == 0


def test_funnel_site_view_marks_other_flagged_units_anonymously():
    r = plot_data.contract_funnel()
    ax = cp.funnel(
        r,
        highlight="S08",
        flagged=["S02", "S03", "S08"],
        flag_label="Case ascertainment below 75%",
        ax=new_ax(),
    )
    own = ring_offsets(ax, "flagged:highlight")
    np.testing.assert_allclose(own, [[380, 100 * 41 / 380]])
    others = ring_offsets(ax)
    assert len(others) == 3
    all_text = " ".join(texts(ax.figure))
    assert "Case ascertainment below 75%" in all_text
    for other in ("S02", "S03"):
        assert other not in all_text
    d = cp.describe(r, highlight="S08", flagged=["S02", "S03", "S08"])
    assert (
        "S08 is marked: case ascertainment below 80%; its outcome figures may "
        "be incomplete." in d
    )
    assert "2 other units are marked" in d
    assert "S02" not in d and "S03" not in d
    d = cp.describe(r, highlight="S07", flagged=["S03"])
    assert "S07 is marked" not in d and "1 other unit is marked" in d
    assert not BANNED.search(d) and not JUDGEMENT.search(d)


def test_describe_names_flagged_units_for_the_steering_group():
    r = plot_data.contract_funnel()
    d = cp.describe(r, flagged=["S08", "S03"])
    assert d.endswith(
        "Marked (case ascertainment below 80%; their outcome figures "
        "may be incomplete): S03, S08."
    )
    d = cp.describe(r, flagged="S08", name_units=False)
    assert (
        "1 unit marked: case ascertainment below 80%; its outcome figures may "
        "be incomplete."
        in d
        and "S08" not in d
    )
    with pytest.raises(InputError, match="flagged"):
        cp.describe(r, flagged=["S99"])


def test_funnel_rejects_unknown_flagged_unit_before_drawing():
    r = plot_data.contract_funnel()
    ax = new_ax()
    with pytest.raises(InputError, match="'flagged'.*S99"):
        cp.funnel(r, flagged=["S01", "S99"], ax=ax)
    assert not ax.has_data()


def test_site_view_with_no_ax_draws_on_a_new_figure():
    import matplotlib.pyplot as plt

    r = plot_data.contract_funnel()
    try:
        steering = cp.funnel(r, labels="outside")  # on the current Axes
        assert steering is plt.gca()
        view = cp.funnel(r, highlight="S07")
        assert view.figure is not steering.figure
        all_text = " ".join(texts(view.figure))
        assert "S07" in all_text
        for other in ("S03", "S09"):
            assert other not in all_text
        assert not [a for a in view.texts if a.get_gid() == "unit-label"]
    finally:
        plt.close("all")


def test_site_view_refuses_an_axes_that_already_holds_artists():
    r = plot_data.contract_funnel()
    ax = cp.funnel(r, labels="outside", ax=new_ax())
    with pytest.raises(InputError, match="empty Axes"):
        cp.funnel(r, highlight="S07", ax=ax)
    used = new_ax()
    used.annotate("S03", (0, 0))
    with pytest.raises(InputError, match="empty Axes"):
        cp.funnel(r, highlight="S07", ax=used)
    fresh = new_ax()
    assert cp.funnel(r, highlight="S07", ax=fresh) is fresh


# --------------------------------------------------------------------- SPC
def test_mid_steps_vertices():
    xs, ys = mid_steps(np.array([1.0, 2.0, 4.0]), np.array([5.0, 6.0, 7.0]))
    assert xs.tolist() == [1.0, 1.5, 1.5, 3.0, 3.0, 4.0]
    assert ys.tolist() == [5.0, 5.0, 6.0, 6.0, 7.0, 7.0]


def test_spc_stepped_limits_have_the_right_vertices(spc_p):
    ax = cp.spc(spc_p, ax=new_ax())
    pts = spc_p.points
    upper = next(line for line in ax.lines if line.get_gid() == "limit:upper")
    xs, ys = upper.get_data()
    x = pts["x"].to_numpy(dtype=float)
    u = pts["upper"].to_numpy() * 100
    assert xs[:5].tolist() == [1.0, 1.5, 1.5, 2.5, 2.5]
    np.testing.assert_allclose(ys[:5], [u[0], u[0], u[1], u[1], u[2]])
    assert len(xs) == 2 * len(x) and xs[-1] == x[-1]
    np.testing.assert_allclose(ys[1::2], u)


def test_spc_points_signals_and_baseline(spc_p):
    ax = cp.spc(spc_p, ax=new_ax())
    pts = spc_p.points
    n_drawn = sum(
        len(c.get_offsets())
        for c in ax.collections
        if str(c.get_gid()).startswith("points:")
    )
    assert n_drawn == pts["y"].notna().sum()
    outside = [c for c in ax.collections if c.get_gid() == "points:outside"]
    assert pts["outside"].sum() == 1 and len(outside) == 1
    np.testing.assert_allclose(
        outside[0].get_offsets()[0], [12, pts["y"].iloc[-1] * 100]
    )
    # no direction: Making Data Count's neutral purple
    assert mcolors.to_hex(outside[0].get_facecolors()[0]) == th.NEUTRAL.lower()
    base = [p for p in ax.patches if p.get_gid() == "baseline"]
    assert len(base) == 1  # freeze=6: the first six points are shaded
    # axvspan draws a Rectangle from matplotlib 3.9 and a Polygon before it:
    # read the span's x extent from its vertices, which both have
    xs = base[0].get_patch_transform().transform(base[0].get_path().vertices)[:, 0]
    np.testing.assert_allclose([xs.min(), xs.max()], [1.0, 6.5])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Outside the limits" in labels and "Baseline (limits frozen)" in labels
    assert not any(_is_red_or_green(c) for c in used_colours(ax.figure))


def test_spc_phases_break_the_limits(spc_parts):
    ax = cp.spc(spc_parts, ax=new_ax())
    breaks = [line for line in ax.lines if line.get_gid() == "phase-break"]
    assert len(breaks) == 1 and breaks[0].get_xdata()[0] == 8.5
    centre = next(line for line in ax.lines if line.get_gid() == "centre")
    ys = centre.get_ydata()
    assert np.isnan(ys).sum() == 1  # one gap between the two phases
    assert {t.get_text() for t in ax.texts if t.get_gid() == "phase-label"} == {
        "Phase 1",
        "Phase 2",
    }


def test_variation_labels_neutral_unless_direction(spc_p):
    ax = cp.spc(spc_p, variation_labels=True, ax=new_ax())
    words = " ".join(texts(ax.figure))
    assert "Special-cause variation: low" in words
    assert not JUDGEMENT.search(words)
    ax = cp.spc(spc_p, variation_labels=True, direction="higher_is_better", ax=new_ax())
    assert "Special-cause variation: concern" in " ".join(texts(ax.figure))


def test_run_chart_draws_no_limits(spc_p):
    ax = cp.run_chart(spc_p, ax=new_ax())
    assert not [line for line in ax.lines if str(line.get_gid()).startswith("limit")]
    assert any(line.get_gid() == "centre" for line in ax.lines)


def test_spc_needs_series_for_several(hospitals):
    with pytest.raises(InputError, match="series"):
        cp.spc(hospitals, ax=new_ax())
    ax = cp.spc(hospitals, series="BFH", ax=new_ax())
    assert ax.get_title(loc="left") == "BFH"


def test_small_multiples_in_id_order_never_by_performance(hospitals):
    fig = Figure()
    axes = cp.small_multiples(hospitals, ncols=4, fig=fig)
    assert axes.shape == (2, 4)
    titles = [ax.get_title(loc="left") for ax in axes.flat if ax.axison]
    assert titles == sorted(hospitals.points["unit"].unique())
    assert not axes.flat[-1].axison
    used = [ax for ax in axes.flat if ax.axison]
    assert len({ax.get_ylim() for ax in used}) == 1
    assert len({ax.get_xlim() for ax in used}) == 1
    free = cp.small_multiples(hospitals, sharey=False, fig=Figure())
    assert len({ax.get_ylim() for ax in free.flat if ax.axison}) > 1


# --------------------------------------------------- monitoring and quality
@pytest.fixture(scope="module")
def aaa(sample_data_dir_module):
    path = sample_data_dir_module / "aaa_procedures.csv"
    data = pd.read_csv(path, parse_dates=["procedure_date"])
    return data[data["site_id"].isin(["S01", "S02", "S03", "S07"])].copy()


@pytest.fixture(scope="module")
def model(aaa):
    from ccdata.risk import fit_risk_model

    return fit_risk_model(aaa, "died_in_hospital", covariates=["age", "procedure_type"])


def test_cusum_and_vlad(aaa, model):
    from ccdata.risk import risk_adjusted_cusum, vlad

    aaa = aaa.assign(p=model.predict(aaa))
    cs = risk_adjusted_cusum(
        aaa,
        outcome="died_in_hospital",
        expected="p",
        order_by="procedure_date",
        unit="site_id",
        limit=1.5,
    )
    ax = cp.cusum(cs, series="S07", ax=new_ax())
    own = cs.points[cs.points["unit"] == "S07"]
    line = next(li for li in ax.lines if li.get_gid() == "cusum")
    np.testing.assert_allclose(line.get_ydata(), own["cusum"])
    assert [li.get_ydata()[0] for li in ax.lines if li.get_gid() == "limit"] == [1.5]
    n_sig = sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == "signal")
    assert n_sig == own["signal"].sum()
    with pytest.raises(InputError, match="series"):
        cp.cusum(cs, ax=new_ax())
    vl = vlad(
        aaa,
        outcome="died_in_hospital",
        expected="p",
        order_by="procedure_date",
        unit="site_id",
    )
    ax = cp.vlad(vl, series="S07", x="procedure_date", ax=new_ax())
    line = next(li for li in ax.lines if li.get_gid() == "vlad")
    pts = vl.points
    np.testing.assert_allclose(line.get_ydata(), pts.loc[pts.unit == "S07", "vlad"])
    # the table form draws the same line, limit and all
    ax2 = cp.cusum(cs.to_frame(), series="S07", limit=1.5, ax=new_ax())
    np.testing.assert_allclose(
        next(li for li in ax2.lines if li.get_gid() == "cusum").get_ydata(),
        own["cusum"],
    )
    for d in (cp.describe(cs, series="S07"), cp.describe(vl, series="S07")):
        assert not BANNED.search(d) and "S01" not in d


def test_calibration(model):
    ax = cp.calibration(model, ax=new_ax())
    table = model.calibration_table
    dec = next(li for li in ax.lines if li.get_gid() == "deciles")
    np.testing.assert_allclose(dec.get_xdata(), table["expected_rate"] * 100)
    np.testing.assert_allclose(dec.get_ydata(), table["observed_rate"] * 100)
    diag = next(li for li in ax.lines if li.get_gid() == "diagonal")
    assert np.allclose(diag.get_xdata(), diag.get_ydata())
    assert "c-statistic" in " ".join(texts(ax.figure))


def test_completeness_and_ascertainment_site_view(aaa, sample_data_dir_module):
    from ccdata.completeness import case_ascertainment, field_completeness

    fc = field_completeness(
        aaa, unit="site_id", fields=["asa_grade", "creatinine_umol_l"]
    )
    ax = cp.completeness(fc, select={"field": "asa_grade"}, ax=new_ax())
    ticks = sorted(
        ((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels()),
        reverse=True,
    )
    assert [t for _, t in ticks] == ["S01", "S02", "S03", "S07"]  # top down: id order
    ax = cp.completeness(
        fc, select={"field": "asa_grade"}, highlight="S07", ax=new_ax()
    )
    words = " ".join(texts(ax.figure))
    assert "S07" in words and not re.search(r"S0[123]", words)
    ax = cp.completeness(fc, select={"unit": "S07"}, target=0.95, ax=new_ax())
    pts = next(c for c in ax.collections if c.get_gid() == "points").get_offsets()
    own = fc[fc["unit"] == "S07"]
    np.testing.assert_allclose(pts[:, 0], own["proportion"] * 100)
    with pytest.raises(InputError, match="select"):
        cp.completeness(pd.concat([fc, fc]), ax=new_ax())

    expected = pd.read_csv(sample_data_dir_module / "aaa_expected_cases.csv")
    expected = expected[expected["site_id"].isin(aaa["site_id"].unique())]
    asc = case_ascertainment(aaa, expected, unit="site_id")
    ax = cp.ascertainment(asc, highlight="S07", ax=new_ax())
    words = " ".join(texts(ax.figure))
    assert "S07" in words and not re.search(r"S0[123]", words)
    d = cp.describe(asc, highlight="S07")
    assert "S07" in d and not re.search(r"S0[123]", d) and not BANNED.search(d)


# ----------------------------------------------------------- theme, safety
def test_theme_sets_palette_and_sizes():
    with cp.theme(context="projector", dpi=300):
        assert matplotlib.rcParams["font.size"] == 14.0
        assert matplotlib.rcParams["savefig.dpi"] == 300
        cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
        assert set(cycle) <= set(cp.PALETTE.values()) | {"#000000"}
    assert not any(
        _is_red_or_green(c)
        for c in cp.PALETTE.values()
        if c not in (cp.PALETTE["bluish_green"], cp.PALETTE["vermillion"])
    )
    with pytest.raises(InputError, match="context"):
        with cp.theme(context="poster"):
            pass
    with pytest.raises(InputError, match="dpi"):
        with cp.theme(dpi=0):
            pass


def test_describe_is_neutral(spc_p, hospitals):
    r = plot_data.contract_funnel()
    texts_ = [
        cp.describe(r),
        cp.describe(r, highlight="S03"),
        cp.describe(spc_p),
        cp.describe(hospitals),
        cp.describe(hospitals, series="BFH"),
    ]
    for d in texts_:
        assert not BANNED.search(d), d
        assert not JUDGEMENT.search(d), d
    assert "above the 99.8% limit" in cp.describe(r, highlight="S03")
    assert "within the expected range" in cp.describe(r, highlight="S01")
    # unit-id order in the steering-group description
    assert cp.describe(r).index("S03") < cp.describe(r).index("S09")
    with pytest.raises(InputError):
        cp.describe(object())


def test_plot_source_never_ranks():
    src = Path(cp.__file__).parent
    for path in src.glob("*.py"):
        code = path.read_text(encoding="utf-8")
        assert ".rank(" not in code and "argsort" not in code, path
        assert not re.search(r"sort_values\(\s*['\"](value|y|z|proportion)", code), path


def test_funnel_respects_the_results_multiplier(sample_data_dir):
    from ccdata.comparison import funnel

    bugs = pd.read_csv(sample_data_dir / "real" / "bugs_surgical.csv")
    kw = dict(numerator="deaths_r", denominator="operations_n", unit="hospital")
    plain = funnel(bugs, **kw)
    scaled = funnel(bugs, multiplier=100, overdispersion="additive", **kw)
    a = unit_offsets(cp.funnel(plain, ax=new_ax()))
    b = unit_offsets(cp.funnel(scaled, ax=new_ax()))
    np.testing.assert_allclose(a[np.lexsort(a.T)], b[np.lexsort(b.T)])  # percent both
    np.testing.assert_allclose(sorted(a[:, 1]), sorted(plain.units["value"] * 100))
    cap = cp.describe(scaled)
    assert "over-dispersion" in cap and not BANNED.search(cap)


def test_quality_site_views_refuse_a_used_axes_and_start_a_new_figure():
    import matplotlib.pyplot as plt

    table = pd.DataFrame(
        {
            "site_id": ["S01", "S02", "S07"],
            "submitted": [8, 9, 6],
            "expected": [10, 10, 10],
            "ascertainment": [0.8, 0.9, 0.6],
            "lower_95": [0.49, 0.6, 0.31],
            "upper_95": [0.94, 0.98, 0.83],
            "over_expected": [False] * 3,
        }
    )
    used = cp.ascertainment(table, ax=new_ax())  # steering view: names every site
    with pytest.raises(InputError, match="empty Axes"):
        cp.ascertainment(table, highlight="S07", ax=used)
    try:
        steering = cp.ascertainment(table)  # on the current Axes
        view = cp.ascertainment(table, highlight="S07")
        assert view.figure is not steering.figure
        words = " ".join(texts(view.figure))
        assert "S07" in words and "S01" not in words and "S02" not in words
    finally:
        plt.close("all")


# ------------------------------------------------- any levels, everywhere (#11)
def test_funnel_levels_90_99_drawn_and_described_everywhere():
    """Issue 11, done-when: levels=(0.9, 0.99) read 90% and 99% in the legend,
    the limit lines and the text; 95% and 99.8% appear nowhere."""
    from ccdata.comparison import funnel

    ae = pd.read_csv(
        Path(__file__).resolve().parents[1]
        / "sample_data"
        / "real"
        / "ae_funnel_input.csv"
    )
    r = funnel(
        ae,
        numerator="events",
        denominator="n",
        unit="org_code",
        overdispersion="additive",
        levels=(0.9, 0.99),
    )
    assert set(r.units["status"]) <= {
        "within",
        "above_90",
        "above_99",
        "below_90",
        "below_99",
        "not_assessed",
    }
    ax = cp.funnel(r, labels="outside", period="March 2019", ax=new_ax())
    gids = {line.get_gid() for line in ax.lines}
    assert {
        "limit:lower_90",
        "limit:upper_90",
        "limit:lower_99",
        "limit:upper_99",
    } <= gids
    assert not any("95" in str(g) or "998" in str(g) for g in gids)
    lines = {line.get_gid(): line for line in ax.lines}
    assert lines["limit:upper_90"].get_linestyle() == "--"
    assert lines["limit:upper_99"].get_linestyle() == "-"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "90% limits (about 1.6 SD)" in legend
    assert "99% limits (about 2.6 SD)" in legend
    assert any(t.startswith("Within the 90% limits") for t in legend)
    site = cp.funnel(r, highlight="RCD", ax=new_ax())
    site_legend = [t.get_text() for t in site.get_legend().get_texts()]
    steering = cp.describe(r)
    own = cp.describe(r, highlight="RCD")
    assert "90%" in steering and "99%" in steering
    assert "the 90% limits are" in own
    every = " ".join(
        texts(ax.figure) + texts(site.figure) + legend + site_legend + [steering, own]
    )
    assert not re.search(r"\b95\s?%|99\.8\s?%", every), every


@pytest.mark.parametrize("log_denominator", [False, True])
def test_ae_funnel_labels_do_not_overlap(log_denominator):
    """Issue 15: the A&E funnel's unit labels (RCD, RA4, RCU, RBS, RJC, ...) are
    moved apart; no two label boxes overlap in the saved figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ccdata.comparison import funnel

    ae = pd.read_csv(
        Path(__file__).resolve().parents[1]
        / "sample_data"
        / "real"
        / "ae_funnel_input.csv"
    )
    r = funnel(
        ae,
        numerator="events",
        denominator="n",
        unit="org_code",
        overdispersion="additive",
    )
    fig = Figure(figsize=(6.4, 4.6))
    FigureCanvasAgg(fig)
    ax = cp.funnel(
        r,
        labels="outside",
        log_denominator=log_denominator,
        period="March 2019",
        ax=fig.add_subplot(),
    )
    labels = [t for t in ax.texts if t.get_gid() == "unit-label"]
    outside = r.units.loc[~r.units["status"].isin(["within", "not_assessed"]), "unit"]
    assert sorted(t.get_text() for t in labels) == sorted(outside)
    assert {"RCD", "RA4", "RCU", "RBS", "RJC"} <= {t.get_text() for t in labels}
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (labels[boxes.index(a)].get_text(), a, b)
