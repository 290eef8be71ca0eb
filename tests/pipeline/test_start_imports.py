"""Every Snakemake start, a no-change rerun included, imports what the workflow's rule files
import and runs the manuscript check (which loads the claim rules and the quoted numbers). Those
must not pull in the heavy libraries: scipy.stats alone costs about 1 s of the start (a module
import of it in report/summaries made a no-change rerun 1.4 -> 2.1 s). Functions that need them
import them where they run."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

HEAVY = ("scipy", "torch", "matplotlib", "sklearn", "mlflow", "jsonschema")


def test_the_workflow_start_imports_no_heavy_library():
    code = f"""
import sys
from lnpaper.manuscript.template import check_manuscript
check_manuscript({str(ROOT)!r}, "vi")
from lnpaper.report import numbers
from lnpaper.manuscript.conditions import manuscript_config
import lnpaper.pipeline.cache, lnpaper.pipeline.deps, lnpaper.pipeline.kernels
import lnpaper.pipeline.preflight, lnpaper.pipeline.validated, lnpaper.report.step_config
import lnpaper.pipeline.credentials, lnpaper.pipeline.overrides, lnpaper.pipeline.inputs
print(" ".join(m for m in {HEAVY!r} if m in sys.modules) or "none")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == ["none"], proc.stdout
