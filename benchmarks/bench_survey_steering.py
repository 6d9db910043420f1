"""Time the steering view of the demo survey and its publication suppression.

Run: ``PYTHONPATH=src python benchmarks/bench_survey_steering.py``. Prints
the time of the three steering funnels (Q02, Q07, Q10 at the demo's dpi) and
of ``publication_survey`` on the sample data (83,370 answers, 30 trusts).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ccdata.report import surveys as svy
from ccdata.report.config import load_config
from ccdata.sample_data import generate_lung_cancer_patient_experience


def main() -> None:
    cfg = load_config(Path(__file__).parents[1] / "src/ccdata/data/demo.toml")
    so = svy.compute_survey(
        cfg, "lung_experience", generate_lung_cancer_patient_experience()
    )
    tmp = Path(tempfile.mkdtemp())
    svy.write_survey_figures(cfg, tmp, so)  # warm-up (imports, font cache)
    t = time.perf_counter()
    figs = svy.write_survey_figures(cfg, tmp, so)
    print(
        f"{len(figs)} survey steering funnels at dpi {cfg.run.dpi}: "
        f"{time.perf_counter() - t:.2f} s"
    )
    t = time.perf_counter()
    svy.publication_survey(so, min_count=5)
    print(f"publication_survey: {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
