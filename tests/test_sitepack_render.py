"""Drawing the site packs: each figure drawn once, PNG copies optional.

A small community (five lung trusts with one funnel; three practices with a
funnel and an SPC chart) is run through the batch job with ``[run] workers = 1`` so the
drawing happens in this process, where it can be counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccdata.errors import ConfigError
from ccdata.report import EXIT_OK, run_pipeline
from ccdata.report.config import parse_config

TRUSTS = [f"T{i:02d}" for i in range(1, 6)]
PRACTICES = [f"P{i:02d}" for i in range(1, 4)]

CONFIG = """
[run]
title = "Pack drawing test"
dpi = 200
workers = 1
figures = false
{extra}

[sites]
path = "sites.csv"

[sources.lung]
path = "lung_cancer_indicators.csv"
schema = "lung_cancer_indicators"
community = "lung"

[sources.ckd]
path = "ckd_care_bundle.csv"
community = "ckd"

[indicators.histology]
title = "Histological confirmation"
source = "lung"
filter = {{ indicator = "histological_confirmation" }}
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
funnel_window = "latest"
direction = "increase"

[indicators.ckd_bundle]
title = "CKD care bundle"
source = "ckd"
numerator = "all_elements"
denominator = "eligible"
period = "month"
spc = "p"
direction = "increase"
"""


def _write_community(d: Path, extra: str) -> Path:
    rng = np.random.default_rng(20261201)
    d.mkdir(parents=True, exist_ok=True)
    sites = [("lung", t, f"Trust hospital {chr(65 + i)}") for i, t in enumerate(TRUSTS)]
    sites += [("ckd", p, f"Practice {chr(75 + i)}") for i, p in enumerate(PRACTICES)]
    pd.DataFrame(sites, columns=["community", "site_id", "site_name"]).to_csv(
        d / "sites.csv", index=False, lineterminator="\n"
    )
    lung = []
    for t in TRUSTS:
        for year in (2024, 2025):
            den = int(rng.integers(80, 300))
            lung.append(
                (t, year, "histological_confirmation", int(rng.binomial(den, 0.8)), den)
            )
    pd.DataFrame(
        lung, columns=["site_id", "year", "indicator", "numerator", "denominator"]
    ).to_csv(d / "lung_cancer_indicators.csv", index=False, lineterminator="\n")
    ckd = []
    for p in PRACTICES:
        for month in pd.period_range("2024-07", "2025-06", freq="M"):
            eligible = int(rng.integers(40, 90))
            ckd.append((p, str(month), eligible, int(rng.binomial(eligible, 0.6))))
    pd.DataFrame(ckd, columns=["site_id", "month", "eligible", "all_elements"]).to_csv(
        d / "ckd_care_bundle.csv", index=False, lineterminator="\n"
    )
    path = d / "job.toml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    return path


def _png_dpi(path: Path) -> float:
    """Resolution from the PNG's pHYs chunk (pixels per metre -> per inch)."""
    data, pos = path.read_bytes(), 8
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"pHYs":
            ppm = int.from_bytes(data[pos + 8 : pos + 12], "big")
            return ppm * 0.0254
        pos += 12 + n
    raise AssertionError(f"{path.name} has no pHYs chunk")


def _pdf_figure_pages(path: Path) -> int:
    """Pages of a PDF that are not A4 text pages: the figures, at their own size."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), path
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    a4 = (8.27 * 72, 11.69 * 72)
    return sum(1 for w, h in boxes if abs(float(w) - a4[0]) + abs(float(h) - a4[1]) > 1)


@pytest.fixture
def count_draws(monkeypatch):
    """Count the calls of the plot functions the packs draw with."""
    import ccdata.plot as plot

    calls: dict[str, int] = {"funnel": 0, "spc": 0}
    for name in calls:
        original = getattr(plot, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(plot, name, counted)
    return calls


def test_pack_png_is_a_checked_run_key():
    src = {"sources": {"a": {"path": "a.csv"}}}
    assert parse_config(src).run.pack_png is True
    assert parse_config({**src, "run": {"pack_png": False}}).run.pack_png is False
    with pytest.raises(ConfigError, match=r"run\.pack_png: must be"):
        parse_config({**src, "run": {"pack_png": "no"}})


def test_packs_without_png_draw_each_figure_once_and_keep_html_and_pdf(
    tmp_path, count_draws
):
    job = _write_community(tmp_path / "job", "pack_png = false")
    out = tmp_path / "out"
    assert run_pipeline(job, out).exit_code == EXIT_OK
    packs = sorted(p for p in (out / "sites").iterdir() if p.is_dir())
    assert [p.name for p in packs] == sorted(TRUSTS + PRACTICES)
    # a funnel per trust, a funnel and an SPC chart per practice: each drawn
    # ONCE, then saved as the inline SVG and a page of the PDF from one Figure
    assert count_draws == {"funnel": len(TRUSTS + PRACTICES), "spc": len(PRACTICES)}
    for pack in packs:
        assert list(pack.glob("*.png")) == [], pack.name
        page = (pack / "index.html").read_text(encoding="utf-8")
        n_svg = page.count('class="figure-svg"')
        n_fig = 1 if pack.name in TRUSTS else 2
        assert n_svg == n_fig == len(list(pack.glob("*.txt"))), pack.name
        assert "<title id=" in page and "<desc id=" in page
        assert ".png" not in page  # the list of files names no PNG
        assert _pdf_figure_pages(pack / f"{pack.name}.pdf") == n_fig, pack.name


def test_packs_with_png_write_print_resolution_copies(tmp_path, count_draws):
    job = _write_community(tmp_path / "job", "")  # pack_png defaults to true
    out = tmp_path / "out"
    assert run_pipeline(job, out).exit_code == EXIT_OK
    assert count_draws == {"funnel": len(TRUSTS + PRACTICES), "spc": len(PRACTICES)}
    t01 = out / "sites" / "T01"
    png = t01 / "histology_funnel.png"
    assert png.is_file()
    assert _png_dpi(png) == pytest.approx(200, abs=0.5)
    assert "histology_funnel.png" in (t01 / "index.html").read_text(encoding="utf-8")
    p01 = out / "sites" / "P01"
    assert _png_dpi(p01 / "ckd_bundle_spc.png") == pytest.approx(200, abs=0.5)


@pytest.mark.parametrize("workers", [0, 1])
def test_an_error_drawing_the_steering_figures_is_raised_in_the_run(tmp_path, workers):
    from ccdata.report.figures import start_figures

    cfg = parse_config(
        {"sources": {"a": {"path": "a.csv"}}, "run": {"workers": workers}}
    )
    broken = {"x": object()}  # not an indicator's output
    with pytest.raises(AttributeError, match="config"):
        start_figures(cfg, tmp_path, broken, {}).result()


def test_a_drawing_no_longer_wanted_is_stopped(tmp_path):
    from ccdata.report.figures import start_figures

    cfg = parse_config({"sources": {"a": {"path": "a.csv"}}})
    drawing = start_figures(cfg, tmp_path, {}, {})
    process = drawing._process
    drawing.cancel()
    assert process is not None and not process.is_alive()
    assert drawing.result() == []  # nothing left to wait for


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pack_naming_another_site_is_withheld_and_the_report_says_so(
    tmp_path, workers
):
    """T01 typed another trust's id as a count: its error report (and so its
    pack) names T02. The pack is withheld whether it is scanned here or in a
    worker process, and the steering report, written while the packs were
    drawn, is written again without its link."""
    job = _write_community(tmp_path / "job", "pack_png = false\nfigures = true")
    job.write_text(
        job.read_text()
        .replace("figures = false\n", "")
        .replace("workers = 1", f"workers = {workers}")
    )
    lung = job.parent / "lung_cancer_indicators.csv"
    rows = pd.read_csv(lung, dtype=str)
    rows.loc[(rows["site_id"] == "T01") & (rows["year"] == "2024"), "numerator"] = "T02"
    rows.to_csv(lung, index=False, lineterminator="\n")
    out = tmp_path / "out"
    res = run_pipeline(job, out)
    assert res.exit_code == 1, res.message
    assert res.counts["site_packs_withheld"] == 1
    assert res.counts["site_packs"] == len(TRUSTS + PRACTICES) - 1
    assert not (out / "sites" / "T01").exists()
    withheld = pd.read_csv(out / "validation" / "withheld_site_packs.csv")
    assert set(withheld["site_id"]) == {"T01"}
    assert withheld["problem"].str.contains("t02", case=False).all()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="sites/T02/index.html"' in page
    assert 'href="sites/T01/index.html"' not in page
    assert f"{len(TRUSTS + PRACTICES) - 1} site packs." in page
    assert (out / "report.pdf").is_file() and (out / "indicators.xlsx").is_file()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_steering_report_written_beside_the_packs_is_the_final_one(
    tmp_path, workers
):
    job = _write_community(tmp_path / "job", "pack_png = false")
    job.write_text(job.read_text().replace("workers = 1", f"workers = {workers}"))
    out = tmp_path / "out"
    res = run_pipeline(job, out)
    assert res.exit_code == EXIT_OK, res.message
    page = (out / "index.html").read_text(encoding="utf-8")
    for site in TRUSTS + PRACTICES:
        assert f'href="sites/{site}/index.html"' in page
    assert f"{len(TRUSTS + PRACTICES)} site packs." in page
    assert res.counts["site_packs"] == len(TRUSTS + PRACTICES)
