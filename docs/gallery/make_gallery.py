"""Build docs/gallery/*.png and docs/gallery.md from the functions below.

Run from the repository root:  .venv/bin/python docs/gallery/make_gallery.py

Each figure function is shown in gallery.md verbatim (inspect.getsource), so
the page always holds the code that made each picture.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.figure import Figure

import ccdata
import ccdata.plot as cp

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "sample_data"
OUT = ROOT / "docs" / "gallery"


def aaa_funnel_steering_group(fig):
    """AAA repair, in-hospital mortality by site: the steering group's view.
    Sites whose records cover less than 80% of the cases expected from Hospital
    Episode Statistics are ringed, so that missing deaths are not mistaken for
    good results."""
    aaa = pd.read_csv(DATA / "aaa_procedures.csv")
    expected = pd.read_csv(DATA / "aaa_expected_cases.csv")
    counts = aaa.groupby("site_id", as_index=False).agg(
        deaths=("died_in_hospital", "sum"), cases=("died_in_hospital", "size")
    )
    result = ccdata.funnel(
        counts,
        numerator="deaths",
        denominator="cases",
        unit="site_id",
        kind="proportion",
    )
    quality = ccdata.data_quality(
        aaa, fields=["creatinine_umol_l"], expected=expected, threshold=0.8
    )
    flagged = quality.loc[quality["ascertainment_concern"], "site_id"].tolist()
    cp.funnel(
        result,
        labels="outside",
        period="April 2023 to March 2026",
        flagged=flagged,
        ax=fig.subplots(),
    )
    return result, {"flagged": flagged}


def aaa_funnel_site_view(fig):
    """The same funnel as site S07 sees it: no other site is named, and the
    sites with poor case ascertainment are ringed anonymously."""
    result, kw = aaa_funnel_steering_group.output
    cp.funnel(
        result,
        highlight="S07",
        period="April 2023 to March 2026",
        direction="decrease",
        ax=fig.subplots(),
        **kw,
    )
    return result, {"highlight": "S07", "direction": "decrease", **kw}


def ae_funnel_real(fig):
    """Real NHS England A&E data, March 2019: share of type 1 attendances over
    four hours, with additive over-dispersion, on a log denominator axis."""
    ae = pd.read_csv(DATA / "real" / "ae_funnel_input.csv")
    result = ccdata.funnel(
        ae,
        numerator="events",
        denominator="n",
        unit="org_code",
        overdispersion="additive",
    )
    cp.funnel(result, period="March 2019", log_denominator=True, ax=fig.subplots())
    return result


def ckd_spc_one_practice(fig):
    """CKD care bundle, all elements delivered, practice P01: p chart with a
    baseline frozen over the first 12 months and Making-Data-Count labels."""
    ckd = pd.read_csv(DATA / "ckd_care_bundle.csv")
    p01 = ckd[ckd["site_id"] == "P01"]
    result = ccdata.spc(
        p01,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        freeze=12,
        direction="increase",
    )
    cp.spc(
        result,
        variation_labels=True,
        title="P01: all bundle elements",
        ax=fig.subplots(),
    )
    return result


def ckd_run_chart(fig):
    """CKD care bundle, practice P01: a run chart (median and run signals, no
    control limits), with the launch of the care bundle as a new phase."""
    ckd = pd.read_csv(DATA / "ckd_care_bundle.csv")
    p01 = ckd[ckd["site_id"] == "P01"]
    result = ccdata.spc(
        p01,
        chart="run",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        part=[6],
    )
    cp.run_chart(
        result,
        title="P01: all bundle elements (run chart)",
        ylabel="Proportion of eligible patients",
        ax=fig.subplots(),
    )
    return result


def ckd_small_multiples(fig):
    """Every practice's p chart, in practice-id order (never by performance)."""
    ckd = pd.read_csv(DATA / "ckd_care_bundle.csv")
    result = ccdata.spc(
        ckd,
        chart="p",
        x="month",
        numerator="all_elements",
        denominator="eligible",
        unit="site_id",
    )
    cp.small_multiples(result, ncols=6, fig=fig)
    return result


def ae_pprime_real(fig):
    """Real A&E data: one trust's monthly share of type 1 attendances seen within
    four hours, as a p-prime chart (Laney) with a phase from April 2018."""
    ae = pd.read_csv(DATA / "real" / "ae_attendances.csv", parse_dates=["period"])
    trust = ae[(ae["org_code"] == "RF4") & (ae["type"] == "1")].sort_values("period")
    trust = trust.assign(within_4h=trust["attendances"] - trust["breaches"])
    result = ccdata.spc(
        trust,
        chart="pp",
        x="period",
        numerator="within_4h",
        denominator="attendances",
        part=[24],
    )
    cp.spc(result, title="RF4, type 1: seen within 4 hours", ax=fig.subplots())
    return result


def aaa_monitoring(fig):
    """Risk model calibration, then S07's risk-adjusted CUSUM and VLAD."""
    aaa = pd.read_csv(DATA / "aaa_procedures.csv", parse_dates=["procedure_date"])
    model = ccdata.fit_risk_model(
        aaa, "died_in_hospital", covariates=["age", "sex", "procedure_type"]
    )
    aaa["risk"] = model.predict(aaa)
    s07 = aaa[aaa["site_id"] == "S07"]
    cus = ccdata.risk_adjusted_cusum(
        s07,
        outcome="died_in_hospital",
        expected="risk",
        order_by="procedure_date",
        limit=4.5,
    )
    vl = ccdata.vlad(
        s07, outcome="died_in_hospital", expected="risk", order_by="procedure_date"
    )
    ax1, ax2, ax3 = fig.subplots(1, 3)
    cp.calibration(model, ax=ax1)
    cp.cusum(cus, x="procedure_date", title="S07: CUSUM (odds ratio 2)", ax=ax2)
    cp.vlad(vl, x="procedure_date", title="S07: VLAD", ax=ax3)
    return vl


def aaa_data_quality(fig):
    """Field completeness for S07, and case ascertainment as S07 sees it."""
    aaa = pd.read_csv(DATA / "aaa_procedures.csv")
    expected = pd.read_csv(DATA / "aaa_expected_cases.csv")
    fields = ccdata.field_completeness(
        aaa,
        unit="site_id",
        fields=["asa_grade", "aneurysm_diameter_mm", "creatinine_umol_l"],
    )
    asc = ccdata.case_ascertainment(aaa, expected, unit="site_id")
    ax1, ax2 = fig.subplots(1, 2)
    cp.completeness(
        fields,
        select={"unit": "S07"},
        target=0.95,
        all_fields_label="All listed fields",
        ax=ax1,
    )
    cp.ascertainment(asc, highlight="S07", ax=ax2)
    return asc, {"highlight": "S07"}


FIGURES = [
    (aaa_funnel_steering_group, (7.5, 4.2)),
    (aaa_funnel_site_view, (7.5, 4.2)),
    (ae_funnel_real, (7.5, 4.2)),
    (ckd_spc_one_practice, (8, 3.8)),
    (ckd_run_chart, (8, 3.8)),
    (ckd_small_multiples, (12, 8)),
    (ae_pprime_real, (8, 3.8)),
    (aaa_monitoring, (14, 4)),
    (aaa_data_quality, (12, 6)),
]


def main() -> None:
    lines = [
        "# Gallery",
        "",
        "Every figure below was drawn by `docs/gallery/make_gallery.py` (run it from",
        "the repository root to rebuild the pictures and this page) from the bundled",
        "sample data (`sample_data/*.csv`) or the real NHS England A&E data",
        "(`sample_data/real/ae_attendances.csv`, Open Government Licence v3.0).",
        "Under each figure is its text alternative from `ccdata.plot.describe`.",
        "",
    ]
    with cp.theme(dpi=150):
        for func, size in FIGURES:
            fig = Figure(figsize=size)
            out = func(fig)
            obj, kw = out if isinstance(out, tuple) else (out, {})
            func.output = (obj, kw)
            name = func.__name__
            fig.savefig(OUT / f"{name}.png")
            code = textwrap.dedent(inspect.getsource(func))
            # the docstring's first sentence is the heading, the rest a paragraph
            para = " ".join(inspect.getdoc(func).split("\n\n")[0].split())
            heading, _, rest = para.partition(". ")
            heading += "" if heading.endswith(".") else "."
            lines += [
                f"## {heading}",
                "",
                *([rest, ""] if rest else []),
                f"![{name}](gallery/{name}.png)",
                "",
                f"*{cp.describe(obj, **kw)}*",
                "",
                "```python",
                code.rstrip(),
                "```",
                "",
            ]
            print("wrote", name)
    (ROOT / "docs" / "gallery.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
