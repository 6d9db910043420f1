"""Figures fit for print and projection (issue 15): complete without the theme,
words that never sit on the data, dates on every time axis, print-quality saves."""

from __future__ import annotations

import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import ccdata.plot as cp
from ccdata.variation import spc

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "_plot_data", Path(__file__).with_name("_plot_data.py")
)
plot_data = importlib.util.module_from_spec(_spec)
sys.modules["_plot_data"] = plot_data
_spec.loader.exec_module(plot_data)


def new_fig(size=(6.4, 4.2)) -> Figure:
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def window(artist, fig):
    return artist.get_window_extent(fig.canvas.get_renderer())


@pytest.fixture(scope="module")
def ckd():
    return pd.read_csv(ROOT / "sample_data" / "ckd_care_bundle.csv")


# ------------------------------------------------ complete without the theme
def test_site_view_saved_without_theme_keeps_legend_and_caption(tmp_path):
    """A script outside ``with cp.theme():`` saves a site view with its legend
    and caption inside the image (they sit outside the axes)."""
    import matplotlib as mpl

    assert mpl.rcParams["savefig.bbox"] != "tight"  # no theme active
    ax = cp.funnel(plot_data.contract_funnel(), highlight="S07", period="2025/26")
    fig = ax.figure
    try:
        fig.savefig(tmp_path / "s07.png")  # a script: no theme, default dpi
        renderer = fig.canvas.get_renderer()
        whole = fig.bbox
        legend = ax.get_legend().get_window_extent(renderer)
        caption = next(t for t in ax.texts if t.get_gid() == "caption")
        cap = caption.get_window_extent(renderer)
        for box in (legend, cap):
            assert whole.x0 - 1 <= box.x0 and box.x1 <= whole.x1 + 1
            assert whole.y0 - 1 <= box.y0 and box.y1 <= whole.y1 + 1
    finally:
        plt.close(fig)


def test_figure_laid_out_by_its_owner_is_left_alone():
    fig = new_fig()
    fig.subplots_adjust(left=0.2, right=0.7)
    ax = cp.funnel(plot_data.contract_funnel(), ax=fig.add_subplot())
    assert fig.get_layout_engine() is None
    assert ax.get_position().x1 == pytest.approx(0.7)


# ------------------------------------------------------ SPC words and lines
@pytest.fixture(scope="module")
def few_crossings():
    # a slow wave: few crossings of the median, long runs
    y = np.r_[np.full(8, 30), np.full(8, 10), np.full(8, 30)] + np.tile([0, 1], 12)
    data = pd.DataFrame(
        {"month": pd.period_range("2022-01", periods=24, freq="M"), "n": y, "d": 100}
    )
    return spc(
        data,
        chart="p",
        x="month",
        numerator="n",
        denominator="d",
        improvement="increase",
    )


def test_few_crossings_note_sits_above_the_axes_not_on_the_limits(few_crossings):
    assert few_crossings.points["few_crossings"].any()
    # with a legend, the note is a legend entry (beside the axes)
    ax = cp.spc(few_crossings, ax=new_fig().add_subplot())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("Too few crossings of the centre line") for t in legend)
    assert not [t for t in ax.texts if t.get_gid() == "few-crossings"]
    # without one, it has its own row above the axes, under the title
    fig = new_fig()
    ax = cp.spc(
        few_crossings,
        variation_labels=True,
        legend=False,
        title="A long indicator title that runs most of the way across",
        ax=fig.add_subplot(),
    )
    fig.canvas.draw()
    note = next(t for t in ax.texts if t.get_gid() == "few-crossings")
    label = next(t for t in ax.texts if t.get_gid() == "variation-label")
    axes_box = ax.get_window_extent()
    boxes = {
        "note": window(note, fig),
        "label": window(label, fig),
        "title": window(ax.title, fig),
    }
    # the words are above the axes (never over the limit lines or the points)
    assert boxes["note"].y0 >= axes_box.y1 and boxes["label"].y0 >= axes_box.y1
    # and none overlaps another: title, variation label, note
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)


def test_variation_label_and_phase_names_never_collide_with_title(ckd):
    p01 = ckd[ckd["site_id"] == "P01"]
    r = spc(
        p01,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        part=[12],
        improvement="increase",
    )
    fig = new_fig()
    title = "P01: all five elements of the CKD care bundle delivered, by month"
    ax = cp.spc(r, variation_labels=True, title=title, ax=fig.add_subplot())
    fig.canvas.draw()
    header = [t for t in ax.texts if t.get_gid() in ("variation-label", "phase-label")]
    assert {t.get_gid() for t in header} == {"variation-label", "phase-label"}
    title_box = window(ax.title, fig)
    for t in header:
        assert not window(t, fig).overlaps(title_box), t.get_text()
    label = next(t for t in header if t.get_gid() == "variation-label")
    for t in header:
        if t is not label:
            assert not window(t, fig).overlaps(window(label, fig)), t.get_text()


def test_phase_line_has_a_legend_entry(ckd):
    p01 = ckd[ckd["site_id"] == "P01"]
    r = spc(
        p01,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        part=[12],
    )
    ax = cp.spc(r, ax=new_fig().add_subplot())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "New phase (limits recalculated)" in labels


def test_centre_and_limits_stop_where_a_practice_stops(ckd):
    """P03 sent six months (2024-04 to 2024-09): its centre line and limits end
    at its last point, not at the end of the community's window."""
    r = spc(
        ckd,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        by="site_id",
    )
    ax = cp.spc(r, series="P03", ax=new_fig().add_subplot())
    pts = (
        r.points[r.points["site_id"] == "P03"]
        if "site_id" in r.points
        else r.points[r.points["unit"] == "P03"]
    )
    from matplotlib import dates as mdates

    last = mdates.date2num(pd.Timestamp("2024-09-01"))
    assert len(pts) >= 6
    for gid in ("centre", "limit:upper", "limit:lower"):
        line = next(ln for ln in ax.lines if ln.get_gid() == gid)
        xs = np.asarray(line.get_xdata(), dtype=float)
        assert np.nanmax(xs) == pytest.approx(last), gid


# ------------------------------------------------------------- time axes
def test_quarters_plot_as_dates_not_strings():
    data = pd.DataFrame(
        {
            "quarter": [
                "2023Q1",
                "2023Q2",
                "2023Q3",
                "2023Q4",
                "2024Q1",
                "2024Q2",
                "2024Q3",
                "2024Q4",
            ],
            "n": [30, 32, 29, 35, 31, 30, 33, 34],
            "d": 100,
        }
    )
    r = spc(data, chart="p", x="quarter", numerator="n", denominator="d")
    ax = cp.spc(r, ax=new_fig().add_subplot())
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and not any(re.search(r"Q[1-4]", t) for t in ticks)
    from matplotlib import dates as mdates

    data_line = next(ln for ln in ax.lines if ln.get_gid() == "data-line")
    first = mdates.num2date(np.asarray(data_line.get_xdata(), float)[0])
    assert (first.year, first.month, first.day) == (2023, 1, 1)


def test_quarter_periods_plot_as_dates():
    data = pd.DataFrame(
        {
            "q": pd.period_range("2023Q1", periods=6, freq="Q"),
            "n": [30, 32, 29, 35, 31, 30],
            "d": 100,
        }
    )
    r = spc(data, chart="p", x="q", numerator="n", denominator="d")
    ax = cp.spc(r, ax=new_fig().add_subplot())
    assert isinstance(ax.xaxis.get_major_locator(), matplotlib.dates.AutoDateLocator)


@pytest.fixture(scope="module")
def s58_cusum():
    import ccdata
    from ccdata.risk import risk_adjusted_cusum

    aaa = pd.read_csv(
        ROOT / "sample_data" / "aaa_procedures.csv", parse_dates=["procedure_date"]
    )
    model = ccdata.fit_risk_model(
        aaa, "died_in_hospital", covariates=["age", "sex", "procedure_type"]
    )
    aaa["risk"] = model.predict(aaa)
    s58 = aaa[aaa["site_id"] == "S58"]
    return risk_adjusted_cusum(
        s58,
        outcome="died_in_hospital",
        expected="risk",
        order_by="procedure_date",
        unit="site_id",
        limit=3.0,
    )


def test_cusum_axis_in_dates_and_signals_told_with_dates(s58_cusum):
    ax = cp.cusum(s58_cusum, ax=new_fig().add_subplot())
    assert isinstance(ax.xaxis.get_major_locator(), matplotlib.dates.AutoDateLocator)
    assert ax.get_xlabel() == "Procedure date"
    signals = s58_cusum.loc[s58_cusum["signal"].astype(bool), "procedure_date"]
    assert len(signals) >= 4  # S58 signals several times (issue 15)
    text = cp.describe(s58_cusum)
    assert f"{len(signals)} signals" in text
    for day in signals:
        assert f"{day.day} {day:%B %Y}" in text
    drawn = sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == "signal")
    assert drawn == len(signals)


# ----------------------------------------------------------- data quality
def test_quality_ticks_have_no_needless_decimals():
    table = pd.DataFrame(
        {
            "site_id": ["S01", "S02", "S03"],
            "field": "nhs_number",
            "present": [970, 985, 992],
            "expected": 1000,
            "proportion": [0.970, 0.985, 0.992],
            "lower_95": [0.965, 0.976, 0.985],
            "upper_95": [0.978, 0.991, 0.996],
        }
    )
    ax = cp.completeness(table, ax=new_fig().add_subplot())
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"\d+(\.\d)?%", t) for t in ticks), ticks
    assert not any(re.search(r"\.\d0%", t) for t in ticks)


def test_all_fields_row_labelled_for_what_it_counts():
    from ccdata.completeness import field_completeness

    data = pd.DataFrame(
        {
            "site_id": ["S01"] * 4,
            "asa_grade": [1, None, 2, 3],
            "smoker": ["y", "n", None, "n"],
        }
    )
    fc = field_completeness(data, by=None, fields=["asa_grade", "smoker"])
    ax = cp.completeness(
        fc, all_fields_label="All listed fields", ax=new_fig().add_subplot()
    )
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "All listed fields" in labels
    assert not any("mandatory" in t for t in labels)
    ax = cp.completeness(fc, ax=new_fig().add_subplot())
    assert "All mandatory fields" in [t.get_text() for t in ax.get_yticklabels()]


# ------------------------------------------------------------ print saves
def test_save_writes_png_at_dpi_and_svg_with_alt_text(tmp_path):
    fig = new_fig()
    r = plot_data.contract_funnel()
    cp.funnel(r, ax=fig.add_subplot())
    alt = cp.describe(r)
    paths = cp.save(fig, tmp_path / "figures" / "funnel", alt=alt)
    assert [p.suffix for p in paths] == [".png", ".svg"]
    with Image.open(paths[0]) as im:
        dpi = im.info["dpi"]
        assert round(dpi[0]) >= 200 and round(dpi[1]) >= 200
        assert im.width >= 6.4 * 200 * 0.9  # full size: nothing cropped away
        assert im.text["Description"] == alt
    root = ET.parse(paths[1]).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.find("svg:desc", ns).text == alt
    assert root.find("svg:title", ns) is not None


def test_save_refuses_unknown_formats_and_bad_dpi(tmp_path):
    from ccdata.errors import InputError

    fig = new_fig()
    fig.add_subplot().plot([0, 1])
    with pytest.raises(InputError, match="formats"):
        cp.save(fig, tmp_path / "x", formats=("png", "bmp"))
    with pytest.raises(InputError, match="dpi"):
        cp.save(fig, tmp_path / "x", dpi=0)


# ------------------------------------------------------------- centre line
def test_centre_line_is_a_target_only_when_one_was_given():
    from dataclasses import dataclass

    base = plot_data.contract_funnel()

    @dataclass(frozen=True)
    class WithTarget(type(base)):
        target_given: bool = True

    given = WithTarget(units=base.units, curve=base.curve, target=base.target)
    for result, expect in (
        (base, "Community average (10.0%)"),
        (given, "Target (10.0%)"),
    ):
        ax = cp.funnel(result, ax=new_fig().add_subplot())
        line = next(ln for ln in ax.lines if ln.get_gid() == "target")
        assert line.get_label() == expect
        assert expect.split(" (")[0] in cp.describe(result)
    ax = cp.funnel(base, centre="A&E standard", ax=new_fig().add_subplot())
    assert next(ln for ln in ax.lines if ln.get_gid() == "target").get_label() == (
        "A&E standard (10.0%)"
    )


def test_funnel_without_levels_is_refused_in_words():
    from types import SimpleNamespace

    from ccdata.errors import InputError

    base = plot_data.contract_funnel()
    bare = SimpleNamespace(units=base.units, curve=base.curve, target=base.target)
    with pytest.raises(InputError, match="levels"):
        cp.funnel(bare, ax=new_fig().add_subplot())


# ------------------------------------------------ coverage told in the text
def test_describe_tells_a_stopped_practice_its_missing_months(ckd):
    """P03 sent six months (2024-04 to 2024-09) of 24; the text says so, and
    the steering text counts the practices that stopped (9 of 29)."""
    r = spc(
        ckd,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        by="site_id",
    )
    own = cp.describe(r, series="P03")
    assert "6 points with data (2024-04 to 2024-09)" in own
    assert "none in the 18 periods after 2024-09 (to 2026-03)" in own
    assert "Latest point (2024-09)" in own
    full = cp.describe(r, series="P01")
    assert "24 points (2024-04 to 2026-03)." in full and "none in" not in full
    last = ckd.groupby("site_id")["month"].max()
    stopped = int((last < ckd["month"].max()).sum())
    assert stopped == 9
    assert f"{stopped} series have no data in the latest period" in cp.describe(r)


def test_plots_read_results_whose_id_column_is_unit(ckd):
    """SPC and completeness outputs are moving to one id column name, ``unit``;
    the plots read both spellings."""
    import dataclasses

    r = spc(
        ckd[ckd["site_id"].isin(["P01", "P02"])],
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        by="site_id",
    )
    renamed = dataclasses.replace(
        r,
        points=r.points.rename(columns={"site_id": "unit"}),
        phases=r.phases.rename(columns={"site_id": "unit"}),
    )
    ax = cp.spc(renamed, series="P02", ax=new_fig().add_subplot())
    assert ax.get_title(loc="left") == "P02"
    axes = cp.small_multiples(renamed, fig=new_fig())
    assert [a.get_title(loc="left") for a in axes.flat if a.axison] == ["P01", "P02"]
    assert "P02" in cp.describe(renamed, series="P02")
    table = pd.DataFrame(
        {
            "unit": ["S01", "S02"],
            "field": "age",
            "present": [9, 8],
            "expected": 10,
            "proportion": [0.9, 0.8],
            "lower_95": [0.6, 0.5],
            "upper_95": [0.98, 0.94],
        }
    )
    ax = cp.completeness(table, highlight="S02", ax=new_fig().add_subplot())
    # the site's own view: only S02's row is labelled
    assert [t.get_text() for t in ax.get_yticklabels()] == ["", "S02"]
