"""Fast tests of the pieces behind the HTML/PDF packs, coverage and the CLI."""

from __future__ import annotations

import io
import logging
import re

import pandas as pd
import pytest

from ccdata.cli import main
from ccdata.errors import ConfigError
from ccdata.report import coverage as cov
from ccdata.report.progress import Progress
from ccdata.report.render import html_blocks, render_template, svg_inline, write_pdf


# ------------------------------------------------------------------ render ----
def test_templates_escape_data_text():
    page = render_template("_example.html", title='<script>alert("x")</script>')
    assert "<script>" not in page and "&lt;script&gt;" in page
    md = render_template(
        "sitepack.md",
        pack={
            "title": "A <b>",
            "intro": "i",
            "coverage": [],
            "results": [],
            "change": [],
            "problems": "",
            "pdf": "a.pdf",
        },
    )
    assert "# A <b>" in md  # Markdown is not HTML-escaped


def test_svg_inline_adds_title_and_desc_and_drops_fixed_size():
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/'
        '2000/svg" width="691pt" height="331pt" viewBox="0 0 691 331">'
        "<g id='figure_1'/></svg>"
    )
    out = str(svg_inline(svg, title="Funnel <P01>", desc="It is & was", ident="f 1"))
    assert out.startswith("<svg ") and "<?xml" not in out
    assert 'width="691pt"' not in out and 'viewBox="0 0 691 331"' in out
    assert '<title id="f-1-title">Funnel &lt;P01&gt;</title>' in out
    assert '<desc id="f-1-desc">It is &amp; was</desc>' in out
    assert 'aria-labelledby="f-1-title f-1-desc"' in out and 'data-figure="f-1"' in out


def test_html_blocks_keep_order_skip_svg_and_read_tables():
    page = (
        "<style>p{}</style><h1>T</h1><p>a <em>b</em></p>"
        '<svg data-figure="x"><title>no</title><text>P99</text></svg>'
        "<table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td>2</td></tr></table>"
        "<ul><li>one</li></ul>"
    )
    assert html_blocks(page) == [
        ("h1", "T"),
        ("p", "a b"),
        ("figure", "x"),
        ("table", [["k", "v"], ["1", "2"]]),
        ("li", "one"),
    ]


def test_write_pdf_paginates_text_and_puts_figures_on_their_own_pages(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([1, 2], [1, 2])
    page = (
        "<h1>Title</h1>"
        + "".join(f"<p>Paragraph {i} " + "word " * 60 + "</p>" for i in range(40))
        + '<svg data-figure="f"></svg><p>after</p>'
    )
    n = write_pdf(tmp_path / "a.pdf", page, title="t", figures={"f": fig})
    data = (tmp_path / "a.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert pages == n and n >= 4  # several text pages, the figure, "after"


def _text_page(n: int = 30) -> str:
    rows = "".join(f"<tr><td>row {i}</td><td>{i * 7}</td></tr>" for i in range(12))
    return (
        "<h1>Pack for S01</h1>"
        + "".join(f"<p>Paragraph {i} " + "word " * 50 + "</p>" for i in range(n))
        + f"<table>{rows}</table><ul><li>one</li><li>two</li></ul>"
    )


def test_core_font_pages_do_not_reparse_the_font_metrics(tmp_path, monkeypatch):
    """The built-in fonts are named from matplotlib's cached parse, not re-read."""
    import matplotlib.backends.backend_pdf as bp

    from ccdata.report import render

    calls = []
    real = bp.AFM

    def counting(fh):
        calls.append(fh)
        return real(fh)

    monkeypatch.setattr(bp, "AFM", counting)
    write_pdf(tmp_path / "a.pdf", _text_page(), title="t")
    assert calls == []  # bold and normal Helvetica named without a parse
    monkeypatch.setattr(render, "_cache_core_fonts", lambda pdf: None)
    write_pdf(tmp_path / "b.pdf", _text_page(), title="t")
    assert len(calls) == 2  # matplotlib's own code reads both files again


def test_text_pages_are_byte_identical_to_matplotlibs_own(tmp_path, monkeypatch):
    """Naming the cached fonts and reusing one Figure change no byte of the PDF."""
    from matplotlib.figure import Figure

    from ccdata.report import render

    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([1, 2], [1, 2])
    page = _text_page(60) + '<svg data-figure="f"></svg><p>after</p>'
    n = write_pdf(tmp_path / "a.pdf", page, title="t", figures={"f": fig})
    monkeypatch.setattr(render, "_cache_core_fonts", lambda pdf: None)

    class _Fresh(render.PdfWriter):  # a new Figure for every text page
        def _new_page(self) -> None:
            super()._new_page()
            self._page = None

    monkeypatch.setattr(render, "PdfWriter", _Fresh)
    m = write_pdf(tmp_path / "b.pdf", page, title="t", figures={"f": fig})
    a, b = (tmp_path / "a.pdf").read_bytes(), (tmp_path / "b.pdf").read_bytes()
    assert n == m >= 4
    assert a == b
    assert b"/BaseFont /Helvetica-Bold\n" in a and b"/BaseFont /Helvetica\n" in a


def test_workbook_cells_are_typed_and_suppressed_cells_keep_their_marker(tmp_path):
    """indicators.xlsx: numbers are numbers (analysts sort and sum them), the
    suppression markers, ids and neutralised formulas are the CSV's text."""
    from openpyxl import load_workbook

    from ccdata.report import writers as w
    from ccdata.report.index import write_workbook

    table = pd.DataFrame(
        {
            "unit": ["007", "S01", "12"],
            "numerator": [12, "<5", 0],
            "value": [0.25, "", -1.5e-07],
            "status": ["within", "=HYPERLINK(1)", "-x"],
            "flag": [True, False, True],
        }
    )
    w.write_csv(table, tmp_path / "indicators" / "a_funnel.csv")
    w.write_csv(
        pd.DataFrame({"indicator": ["a"], "key": ["phi"], "value": ["1.5"]}),
        tmp_path / "indicators" / "a_summary.csv",
    )
    assert write_workbook(tmp_path) == "indicators.xlsx"
    book = load_workbook(tmp_path / "indicators.xlsx")
    assert book.sheetnames == ["contents", "a_funnel", "a_summary"]
    rows = list(book["a_funnel"].iter_rows(values_only=True))
    assert rows[0] == ("unit", "numerator", "value", "status", "flag")
    assert rows[1] == ("007", 12, 0.25, "within", True)
    assert rows[2] == ("S01", "<5", None, "'=HYPERLINK(1)", False)
    assert rows[3] == ("12", 0, pytest.approx(-1.5e-07), "'-x", True)
    cells = book["a_funnel"]["B2":"C4"]
    assert [c.data_type for row in cells for c in row] == ["n", "n", "s", "n", "n", "n"]
    assert book["a_funnel"]["A1"].font.b and book["a_funnel"].freeze_panes == "A2"
    assert list(book["a_summary"].iter_rows(values_only=True))[1] == ("a", "phi", 1.5)
    contents = list(book["contents"].iter_rows(values_only=True))
    assert contents[1:] == [
        ("a_funnel", "indicators/a_funnel.csv"),
        ("a_summary", "indicators/a_summary.csv"),
    ]


# ---------------------------------------------------------------- coverage ----
def test_unit_coverage_of_monthly_returns_counts_every_gap():
    d = pd.DataFrame(
        {
            "u": ["A"] * 4 + ["B"] * 3 + ["C"] * 2,
            "p": [
                "2024-01",
                "2024-02",
                "2024-03",
                "2024-04",
                "2024-01",
                "2024-03",
                "2024-04",
                "2023-11",
                "2023-12",
            ],
        }
    )
    c = cov.unit_coverage(
        d, ["2024-01", "2024-04"], unit="u", period="p", threshold=0.75
    ).set_index("unit")
    assert c["periods_in_window"].tolist() == [4, 4, 4]
    assert c["periods_received"].tolist() == [4, 3, 0]
    assert c["assessed"].tolist() == [True, True, False]
    assert c.loc["B", "missing_periods"] == "2024-02"
    assert (
        c.loc["B", "coverage_note"] == "data for 3 of 4 periods (75%); missing 2024-02"
    )
    assert (
        c.loc["C", "coverage_note"]
        == "no data in the window (2024-01 to 2024-04); no data since 2023-12"
    )


def test_unit_coverage_of_records_spans_first_to_last_record():
    # one row per operation: a month without one is a zero, not a missing return
    d = pd.DataFrame(
        {
            "u": ["A", "A", "A", "B", "B"],
            "p": ["2024-01", "2024-01", "2024-06", "2024-01", "2024-02"],
        }
    )
    c = cov.unit_coverage(d, ["2024-01", "2024-06"], unit="u", period="p").set_index(
        "unit"
    )
    assert c.loc["A", "periods_received"] == 6 and c.loc["A", "coverage_note"] == ""
    assert c.loc["B", "periods_received"] == 2
    assert c.loc["B", "coverage_note"].endswith("no data since 2024-02")
    assert not c.loc["B", "assessed"]


def test_threshold_is_inclusive_and_configurable():
    d = pd.DataFrame({"u": ["A"] * 3, "p": ["2024-01", "2024-02", "2024-03"]})
    win = ["2024-01", "2024-04"]
    assert cov.unit_coverage(d, win, unit="u", period="p", threshold=0.75)[
        "assessed"
    ].item()
    assert not cov.unit_coverage(d, win, unit="u", period="p", threshold=0.8)[
        "assessed"
    ].item()


def test_hold_out_and_add_coverage_keep_the_unit_unjudged():
    agg = pd.DataFrame(
        {"unit": ["A", "B"], "numerator": [5, 3], "denominator": [10, 6]}
    )
    c = pd.DataFrame(
        {
            "unit": ["A", "B"],
            "periods_in_window": [4, 4],
            "periods_received": [4, 1],
            "coverage": [1.0, 0.25],
            "assessed": [True, False],
            "missing_periods": ["", "x"],
            "coverage_note": ["", "gone"],
        }
    )
    judged, held = cov.hold_out(agg, c)
    assert judged["unit"].tolist() == ["A"] and held["unit"].tolist() == ["B"]
    table = pd.DataFrame(
        {
            "indicator": ["x"],
            "unit": ["A"],
            "numerator": [5],
            "denominator": [10],
            "value": [0.5],
            "lower_95": [0.2],
            "status": ["within"],
        }
    )
    out = cov.add_coverage(table, held, c, name="x", kind="proportion")
    assert out["unit"].tolist() == ["A", "B"]
    b = out.iloc[1]
    assert b["status"] == "not_assessed" and b["value"] == 0.5
    assert pd.isna(b["lower_95"]) and b["coverage_note"] == "gone"
    assert out["coverage"].tolist() == [1.0, 0.25]


def test_period_ranges_in_words():
    assert (
        cov.period_ranges(["2024-10", "2024-11", "2025-01"], "month")
        == "2024-10 to 2024-11 and 2025-01"
    )
    assert (
        cov.period_ranges(["2022", "2023", "2025"], "year") == "2022 to 2023 and 2025"
    )
    assert cov.period_ranges(["2024Q1", "2024Q2"], "quarter") == "2024Q1 to 2024Q2"


@pytest.mark.parametrize("bad", [1.5, -0.1, "half", True])
def test_min_coverage_out_of_range_is_a_config_error(bad):
    class F:
        min_coverage = bad

    class C:
        funnel = F()
        path = "job.toml"

    with pytest.raises(ConfigError, match="funnel.min_coverage"):
        cov.min_coverage(C())


def test_min_coverage_is_a_config_key():
    from ccdata.report.config import parse_config

    cfg = parse_config(
        {"sources": {"a": {"path": "a.csv"}}, "funnel": {"min_coverage": 0.5}}
    )
    assert cov.min_coverage(cfg) == 0.5
    assert cov.min_coverage(parse_config({"sources": {"a": {"path": "a.csv"}}})) == 0.75


def test_coverage_sentence_names_the_missing_months():
    row = {
        "periods_in_window": 24,
        "periods_received": 20,
        "coverage": 20 / 24,
        "missing_periods": "2025-12 to 2026-03",
        "coverage_note": "...",
    }
    s = cov.coverage_sentence(row, min_share=0.75)
    assert "20 of 24" in s and "2025-12 to 2026-03" in s and "enough" in s


# -------------------------------------------------------------- progress ----
def test_progress_draws_nothing_off_a_terminal():
    stream = io.StringIO()
    bar = Progress(3, stream=stream)
    bar.step("read")
    bar.pack("P01", 1, 1)
    bar.close()
    assert stream.getvalue() == ""


def test_progress_on_a_terminal_shows_packs_with_eta_and_routes_logs():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = Progress(2, stream=stream, enabled=True)
    bar.step("read")
    for k in range(1, 4):
        bar.pack(f"P0{k}", k, 3)
    bar.close()
    text = stream.getvalue()
    assert "site packs" in text and "pack/s" in text and "<" in text  # ETA shown


# -------------------------------------------------------------------- cli ----
def test_version_option(capsys):
    from ccdata import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ccdata {__version__}"


def test_quiet_and_verbose_set_the_log_level():
    main(["--quiet", "validate", "no-such.csv", "--schema", "aaa_procedures"])
    assert logging.getLogger("ccdata").getEffectiveLevel() == logging.WARNING
    main(["--verbose", "validate", "no-such.csv", "--schema", "aaa_procedures"])
    assert logging.getLogger("ccdata").getEffectiveLevel() == logging.DEBUG
    main(["validate", "no-such.csv", "--schema", "aaa_procedures"])
    assert logging.getLogger("ccdata").getEffectiveLevel() == logging.INFO


def test_non_tty_logs_have_timestamps_and_each_error_once():
    from ccdata.cli import _configure_logging

    stream = io.StringIO()
    _configure_logging(0, stream=stream)
    log = logging.getLogger("ccdata.report")
    log.error("source x: file not found")
    log.error("source x: file not found")
    log.info("done")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ERROR source x", lines[0])
    assert lines[1].endswith("INFO done")
    _configure_logging(0)
