"""The notebooks run top to bottom on the sample data and are committed stripped.

Each notebook is executed with nbclient in the ``python3`` kernel, with the
``notebooks/`` folder as the working directory (as Jupyter would). jupyter_client
launches a kernelspec whose command is ``python`` with ``sys.executable``, so the
kernel is the interpreter running pytest (the project venv locally, CI's fresh
venv in CI). The site notebook is also run papermill-style, with a cell injected
after its ``parameters`` cell, for another site and a data folder that does not
exist (so it falls back to writing fresh sample data).
"""

from __future__ import annotations

import re
from pathlib import Path

# The notebook runners are in the [test] extra: a missing one is a failure here,
# not a skip, so that CI cannot pass without running the notebooks.
import ipykernel  # noqa: F401
import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STEERING = NOTEBOOKS / "steering_group.ipynb"
SITE = NOTEBOOKS / "site_feedback.ipynb"
TIMEOUT = 300  # seconds per cell; the notebooks take about 10 s in all

AAA_SITE_IDS = [f"S{i:02d}" for i in range(1, 71)]
SITE_ID_PATTERN = re.compile(r"\bS(?:0[1-9]|[1-6][0-9]|70)\b")
RANKING_WORDS = re.compile(
    r"\b(?:rank\w*|worst|best|league|top \d+|bottom \d+)\b", re.IGNORECASE
)
ALLOWED_IMPORTS = {
    "ccdata",
    "ccdata.plot",
    "ccdata.sample_data",
    "pandas",
    "matplotlib.pyplot",
    "pathlib",
    "tempfile",
}


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _parameters_index(nb) -> int:
    tagged = [
        i
        for i, cell in enumerate(nb.cells)
        if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


def _execute(path: Path, inject: str | None = None):
    nb = _read(path)
    if inject is not None:
        # What papermill does: a new cell right after the parameters cell.
        cell = nbformat.v4.new_code_cell(inject)
        cell.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(_parameters_index(nb) + 1, cell)
    client = nbclient.NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def _output_texts(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            elif output.output_type == "error":
                texts.append(f"{output.ename}: {output.evalue}")
            else:
                data = output.get("data", {})
                texts.extend(
                    str(data[key])
                    for key in ("text/plain", "text/html", "text/markdown")
                    if key in data
                )
    return texts


def _n_images(nb) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        for output in cell.get("outputs", [])
    )


def _visible_text(nb) -> str:
    """Outputs, markdown and code, except the (injected) parameter cells."""
    parts = _output_texts(nb)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            continue
        parts.append(cell.source)
    return "\n".join(parts)


@pytest.fixture(scope="module")
def steering_run():
    return _execute(STEERING)


@pytest.fixture(scope="module")
def site_run():
    return _execute(SITE)


@pytest.fixture(scope="module")
def site_run_s14(tmp_path_factory):
    absent = tmp_path_factory.mktemp("no_data") / "absent"
    return _execute(SITE, inject=f'site_id = "S14"\ndata_dir = {str(absent)!r}')


# -- committed state ---------------------------------------------------------


@pytest.mark.parametrize("path", [STEERING, SITE], ids=lambda p: p.name)
def test_committed_notebook_is_valid_and_stripped(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"outputs committed in cell {cell.id}: strip them"
        assert cell.execution_count is None, (
            f"execution count committed in cell {cell.id}: strip it"
        )
    assert sum(cell.cell_type == "markdown" for cell in nb.cells) >= 5


@pytest.mark.parametrize("path", [STEERING, SITE], ids=lambda p: p.name)
def test_notebook_imports_public_api_only(path):
    imported = set()
    for cell in _read(path).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"\s*(?:from\s+(\S+)\s+import|import\s+(\S+))", line)
            if match:
                imported.add(match.group(1) or match.group(2))
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
    assert "ccdata" in imported


def test_parameters_cells():
    site = _read(SITE)
    params = site.cells[_parameters_index(site)].source
    assert re.search(r'^site_id = "S07"', params, re.MULTILINE)
    assert re.search(r'^data_dir = "\.\./sample_data"', params, re.MULTILINE)
    steering = _read(STEERING)
    steering_params = steering.cells[_parameters_index(steering)].source
    assert re.search(r"^data_dir = ", steering_params, re.MULTILINE)


# -- executed ----------------------------------------------------------------


def test_steering_group_runs_and_tells_the_story(steering_run):
    text = "\n".join(_output_texts(steering_run))
    assert "Error" not in text
    assert _n_images(steering_run) >= 9
    # Data quality first: all three submissions validated, low ascertainment shown.
    assert "8 of 70 sites submitted fewer than 80% of their expected cases" in text
    # The risk-adjusted funnel names the three true outlier sites.
    assert "Above the 99.8% limit: S14, S37, S58." in text
    # What improved: the care bundle and the improving region.
    assert "26 show an increase beyond chance" in text
    assert re.search(r"East\s+0\.713\s+0\.884\s+increase beyond chance", text)
    assert not RANKING_WORDS.search(text)


def test_steering_group_tables_in_site_order(steering_run):
    text = "\n".join(_output_texts(steering_run))
    # The table of sites outside the 95% limits: site-id order, not by O/E.
    row = r"^\d+\s+(S\d\d)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(?:above|below)_"
    outside = re.findall(row, text, re.MULTILINE)
    assert outside == ["S14", "S24", "S25", "S37", "S58"]
    practices = re.findall(r"^\d+\s+(P\d\d)\s", text, re.MULTILINE)
    assert practices == [f"P{i:02d}" for i in range(1, 30)]


@pytest.mark.parametrize("which", ["default", "injected"])
def test_site_feedback_names_no_other_site(which, site_run, site_run_s14):
    nb, own = (site_run, "S07") if which == "default" else (site_run_s14, "S14")
    text = _visible_text(nb)
    assert own in text
    others = sorted(set(SITE_ID_PATTERN.findall(text)) - {own})
    assert others == [], f"other sites named in the {own} pack: {others}"
    assert not RANKING_WORDS.search("\n".join(_output_texts(nb)))
    assert _n_images(nb) >= 5


def test_site_feedback_default_site(site_run):
    text = "\n".join(_output_texts(site_run))
    assert "Feedback for site S07: 190 AAA repairs" in text
    assert "Risk-adjusted mortality is within the expected range" in text
    assert "Of the other 69 units" in text


def test_site_feedback_injected_site_and_fallback_data(site_run_s14):
    text = "\n".join(_output_texts(site_run_s14))
    # The data folder did not exist: fresh sample data were written instead.
    assert "ccdata-sample-" in text
    assert "Feedback for site S14: 441 AAA repairs" in text
    assert "Risk-adjusted mortality is above the 99.8% limit." in text
    assert "supportive review that starts from the data" in text
