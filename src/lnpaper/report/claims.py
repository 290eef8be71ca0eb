"""The claims audit: each checkable statement of the paper, its measured value, theory, and a
verdict computed by an explicit rule from the results. Only wording and section are hand-written.

A claim declares the experiment outputs it needs; claims whose experiments are disabled are left
out of the table (the manuscript says so).
"""

from __future__ import annotations

import inspect

import pandas as pd

from lnpaper.pipeline import paths
from lnpaper.report import claims_matrices, claims_training  # noqa: F401  (register the rules)
from lnpaper.report.claim_text import render
from lnpaper.report.step_config import StepConfig
from lnpaper.report.verdicts import CLAIMS


def evaluate_all(frames: dict[str, pd.DataFrame], cfg: StepConfig) -> pd.DataFrame:
    """The claims table from the experiment frames ({"matmul/growth": df, ...}) and the claims
    step's config: the sections of its experiments (``cfg.section("matmul")["scales"]``...),
    the seed the bootstrap intervals derive from, and the language of the text. Cheap: no
    file I/O, so comparing builds (seeds 42 / 43 / 44) is one call per build."""
    language = cfg.language
    rows = []
    for c in CLAIMS:
        if not all(r in frames for r in c.requires):
            continue  # its experiment is disabled
        takes_cfg = len(inspect.signature(c.evaluate).parameters) > 1
        res = c.evaluate(frames, cfg) if takes_cfg else c.evaluate(frames)
        if res is None:
            continue  # the config measured nothing this claim is about (e.g. no scale < 1)
        if res.verdict not in c.produces:
            raise ValueError(
                f"claim {c.claim_id}: verdict {res.verdict} is not one it declares ({c.produces})"
            )
        rows.append(
            {
                "claim_id": c.claim_id,
                "section": c.section,
                "claim": c.text_vi if language == "vi" else c.text_en,
                "measured": render(res.measured, language),
                "theory": render(res.theory, language),
                "verdict": res.verdict,
                "condition": render(res.condition, language),
                "value": res.value,
                "value_ci_low": res.value_ci[0],
                "value_ci_high": res.value_ci[1],
                "source": ";".join(paths.experiment_file(r) for r in c.requires),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "claim_id",
            "section",
            "claim",
            "measured",
            "theory",
            "verdict",
            "condition",
            "value",
            "value_ci_low",
            "value_ci_high",
            "source",
        ],
    )
