"""The demo end to end: HTML and PDF site packs, coverage verdicts, steering report.

Every test here reads the outputs of ONE demo run (the session fixture
``demo_run`` in conftest.py), so the whole pipeline runs once per session. Keep
every reader of ``demo_run`` in this module: the suite runs with pytest-xdist's
``--dist loadfile`` (pyproject.toml), which keeps one module on one worker, and a
session fixture runs once per worker that uses it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from ccdata.report import EXIT_DATA_PROBLEMS, EXIT_OK

STOPPED_CKD = ["P03", "P07", "P11", "P14", "P18", "P21", "P24", "P26", "P29"]


# ----------------------------------------------------------------- helpers ----
class _Svgs(HTMLParser):
    """Every inline <svg>: its <title> and <desc> text; every <img>: its alt."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, str]] = []
        self.imgs: list[str] = []
        self._depth = 0
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self._depth += 1
            if self._depth == 1:
                self.svgs.append({"title": "", "desc": "", **dict(attrs)})
        elif self._depth == 1 and tag in ("title", "desc") and not self.svgs[-1][tag]:
            self._in = tag
        elif tag == "img":
            self.imgs.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag):
        if tag == "svg":
            self._depth -= 1
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.svgs[-1][self._in] += data


def _pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), path
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def _pdf_text(path: Path) -> str:
    """The literal strings drawn in a matplotlib PDF (decompressed streams)."""
    data = path.read_bytes()
    chunks = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            chunks.append(m.group(1))
    text = []
    for c in chunks:
        for arr in re.findall(rb"\[(.*?)\]\s*TJ", c, re.S):
            text.append(b"".join(re.findall(rb"\(((?:\\.|[^\\)])*)\)", arr)))
        text.extend(re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", c))
    return b"\n".join(text).decode("latin-1").replace("\\(", "(").replace("\\)", ")")


def _png_text(path: Path) -> str:
    data, pos, out = path.read_bytes(), 8, []
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] in (b"tEXt", b"iTXt", b"zTXt"):
            out.append(data[pos + 8 : pos + 8 + n].decode("latin-1"))
        pos += 12 + n
    return "\n".join(out)


def _file_text(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".png":
        return _png_text(path)
    if suffix == ".pdf":
        return _pdf_text(path)
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def demo(demo_run):
    outcome, out, data = demo_run
    assert outcome.exit_code == EXIT_DATA_PROBLEMS, outcome.message
    return out, data


@pytest.fixture(scope="module")
def identities(demo):
    """Every site id and name of the demo (synthetic sites and A&E trusts)."""
    out, data = demo
    sites = pd.read_csv(data / "sites.csv", dtype=str, keep_default_na=False)
    names = dict(zip(sites["site_id"], sites["site_name"], strict=True))
    ids = set(sites["site_id"])
    ae = data / "real" / "ae_attendances.csv"
    if ae.is_file():
        ids |= set(pd.read_csv(ae, dtype=str)["org_code"].dropna())
    return ids, names


def test_full_demo_on_the_sample_data(demo_run):
    res, out, _ = demo_run  # ONE demo run per session (tests/conftest.py)
    assert res.exit_code in (EXIT_OK, EXIT_DATA_PROBLEMS), res.message
    assert (out / "index.html").is_file()
    m = json.loads((out / "manifest.json").read_text())
    assert {"aaa_mortality_ra", "ckd_bundle", "lung_histology"} <= set(m["indicators"])
    packs = sorted((out / "sites").iterdir())
    assert len(packs) >= 70 + 29 + 30


# ------------------------------------------------------------------- packs ----
def test_every_html_pack_embeds_its_figures_with_descriptions(demo):
    out, _ = demo
    packs = sorted(p for p in (out / "sites").iterdir() if p.is_dir())
    assert len(packs) >= 129
    n_figures = 0
    for pack in packs:
        page = (pack / "index.html").read_text(encoding="utf-8")
        assert '<meta name="viewport"' in page and "@media print" in page
        parser = _Svgs()
        parser.feed(page)
        descriptions = sorted(pack.glob("*.txt"))  # one per figure
        assert len(parser.svgs) == len(descriptions), pack.name
        for svg in parser.svgs:
            assert svg["title"].strip() and len(svg["desc"].strip()) > 40, pack.name
            assert svg["role"] == "img" and svg["aria-labelledby"]
        assert parser.imgs == []  # self-contained: no linked images
        for desc in descriptions:  # each figure's description is embedded
            assert desc.read_text(encoding="utf-8").strip().split(":")[0] in page
        n_figures += len(parser.svgs)
        # the same content as a PDF, with pages
        pdf = pack / f"{pack.name}.pdf"
        assert pdf.is_file(), pack.name
        assert _pdf_pages(pdf) >= 1 + len(parser.svgs)
        # the Markdown summary is kept; the page opens with the site's coverage
        assert (pack / "summary.md").is_file()
        assert (
            page.index('id="coverage"')
            < page.index('id="results"')
            < page.index('id="change"')
        )
    assert n_figures >= 250


def test_no_pack_names_another_site_in_any_file_case_insensitive(demo, identities):
    out, _ = demo
    ids, names = identities
    id_tokens = {i.lower() for i in ids}
    name_texts = {n.lower() for n in names.values() if n}
    token = re.compile(r"[a-z0-9]+")
    checked = 0
    for pack in sorted(p for p in (out / "sites").iterdir() if p.is_dir()):
        own = {pack.name.lower(), names.get(pack.name, "").lower()}
        own_tokens = set(token.findall(" ".join(own)))
        for f in sorted(pack.iterdir()):
            text = _file_text(f).lower()
            found = (set(token.findall(text)) & id_tokens) - own_tokens
            found |= {n for n in name_texts - own if n in text}
            assert not found, f"{f.relative_to(out)} names {sorted(found)[:5]}"
            checked += 1
    assert checked > 129 * 5


def test_pdf_pack_says_what_the_html_pack_says(demo):
    out, _ = demo
    text = _pdf_text(out / "sites" / "P03" / "P03.pdf")
    assert "P03" in text and "Ashton" in text
    assert "2024-09" in text  # "no data since 2024-09"


# ---------------------------------------------------------------- coverage ----
def test_stopped_practices_are_not_assessed_or_marked_and_packs_name_the_months(demo):
    out, _ = demo
    ckd = pd.read_csv(
        out / "indicators" / "ckd_bundle_funnel.csv", keep_default_na=False
    )
    assert {
        "coverage",
        "periods_in_window",
        "periods_received",
        "coverage_note",
    } <= set(ckd.columns)
    ckd = ckd.set_index("unit")
    for p in STOPPED_CKD:
        row = ckd.loc[p]
        assert float(row["coverage"]) < 1
        assert "no data since" in row["coverage_note"]
        if float(row["coverage"]) < 0.75:
            assert row["status"] == "not_assessed", p
        else:
            assert row["status"] != "not_assessed", p
    assert ckd.loc["P03", "status"] == "not_assessed"
    assert (
        ckd.loc["P03", "coverage_note"]
        == "data for 6 of 24 periods (25%); no data since 2024-09"
    )
    full = ckd[ckd["periods_received"] == 24]
    assert (full["status"] != "not_assessed").all() and len(full) >= 19
    # the pack names the missing months, in HTML, Markdown and its CSV
    for f in ("index.html", "summary.md"):
        text = (out / "sites" / "P03" / f).read_text(encoding="utf-8")
        assert "2024-10 to 2026-03" in text, f
        assert "no data since 2024-09" in text, f
        assert "below the 95%" not in text  # never judged on the months it sent
    own = pd.read_csv(out / "sites" / "P03" / "indicators.csv")
    assert own["status"].tolist() == ["not_assessed"]
    # a practice that sent enough is assessed, and told what is missing
    p29 = (out / "sites" / "P29" / "index.html").read_text(encoding="utf-8")
    assert "2026-02 to 2026-03" in p29 and "enough to be assessed" in p29


def test_submission_status_of_every_source(demo):
    out, _ = demo
    for source in ("aaa", "ckd", "lung"):
        st = pd.read_csv(out / "indicators" / f"submission_status_{source}.csv")
        assert list(st.columns[:4]) == ["source", "site_id", "period", "records"]
        assert set(st["status"]) <= {"on_time", "late", "missing", "submitted"}
        assert st["site_id"].tolist() == sorted(st["site_id"])  # site order
    ckd = pd.read_csv(out / "indicators" / "submission_status_ckd.csv")
    p03 = ckd[ckd["site_id"] == "P03"]
    assert (p03["status"] == "missing").sum() == 18
    # the mistyped row: rejected, so its month is missing for P05
    p05 = ckd[(ckd["site_id"] == "P05") & (ckd["period"] == "2025-06")]
    assert p05["status"].tolist() == ["missing"]
    # the late AAA unit: late returns, and its latest quarter not received
    aaa = pd.read_csv(out / "indicators" / "submission_status_aaa.csv")
    s05 = aaa[aaa["site_id"] == "S05"]
    assert (s05["status"] == "late").sum() >= 3
    assert s05["status"].tail(3).tolist() == ["missing"] * 3


def test_demo_problems_show_in_validation_reports_and_packs(demo):
    out, _ = demo
    errors = pd.read_csv(out / "validation" / "P05_errors.csv", dtype=str)
    assert (errors["column"] == "eligible").any()
    assert (errors["value"] == "2O").any()
    p05 = (out / "sites" / "P05" / "index.html").read_text(encoding="utf-8")
    assert "Data problems" in p05 and "2025-06" in p05
    aaa = pd.read_csv(
        out / "indicators" / "aaa_mortality_ra_funnel.csv", keep_default_na=False
    ).set_index("unit")
    assert aaa.loc["S12", "status"] == "not_assessed"
    assert "no data since 2024-12" in aaa.loc["S12", "coverage_note"]
    # record-level data: a small unit's months without operations are not gaps
    assert (aaa.drop(index=["S12"])["status"] != "not_assessed").all()


# ------------------------------------------------------- steering report ----
def test_steering_report_has_contents_overview_and_plain_words(demo):
    out, _ = demo
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<nav class="toc"' in page and 'href="#overview"' in page
    # packs linked as HTML
    assert 'href="sites/P03/index.html"' in page and "summary.md" not in page
    # phi / tau2 only inside the <details> block, never in the prose
    prose = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    prose = re.sub(r"<style>.*?</style>|<[^>]*>", " ", prose, flags=re.S)  # words
    assert "phi" not in prose.lower() and "tau" not in prose.lower()
    assert "Over-dispersion ratio (phi)" in page
    # overview tables: one per community, rows in site-id order, data quality
    tables = re.findall(r'<section id="overview">(.*?)</section>', page, re.S)[0]
    for block in re.findall(r"<tbody>(.*?)</tbody>", tables, re.S):
        first = re.findall(r"<tr><td>([^<]*)</td>", block)
        assert first == sorted(first) and len(first) >= 2
    for community in ("aaa", "ckd", "lung"):
        assert f"Community: {community}" in tables
    assert tables.count("Data quality (") >= 3  # every community, not only AAA
    assert "not assessed (data for 6 of 24 periods)" in tables
    assert "community average" in page  # no target: said so
    # printable copy and workbook
    assert _pdf_pages(out / "report.pdf") >= 3
    from openpyxl import load_workbook

    wb = load_workbook(out / "indicators.xlsx", read_only=True)
    assert "contents" in wb.sheetnames and "ckd_bundle_funnel" in wb.sheetnames


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(),
    reason="headless Chromium not installed (/usr/bin/chromium)",
)
def test_pack_renders_in_headless_chromium_on_a_phone(demo, tmp_path):
    out, _ = demo
    shot = tmp_path / "p03.png"
    subprocess.run(
        [
            "/usr/bin/chromium",
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--window-size=390,2000",
            f"--screenshot={shot}",
            (out / "sites" / "P03" / "index.html").as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size[0] == 390
        # something was drawn (not a blank page)
        assert len(set(img.convert("L").getdata())) > 10
    assert shutil.which("true")


# issue 17: the demo's steering report shows the configured survey questions
def test_demo_steering_report_shows_q02_q07_q10(demo_run):
    outcome, out, _ = demo_run
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html.split('id="surveys"')[1].split("</section>")[0]
    for q in ("Q02", "Q07", "Q10"):
        assert f'src="figures/survey_lung_experience_{q}.png"' in section, q
        assert (out / "figures" / f"survey_lung_experience_{q}.png").is_file()
        assert re.search(rf"<li>{q} \(\d{{4}}\): ", section), q
    # only the configured questions, one figure each
    figs = re.findall(r'src="figures/survey_lung_experience_(Q\d\d)\.png"', section)
    assert figs == ["Q02", "Q07", "Q10"]
    assert outcome.counts["figures"] >= 3
