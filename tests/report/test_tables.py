import pandas as pd
import pytest

from lnpaper.report import formatting, summaries


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (-0.5, -0.3, "decays"),
        (0.3, 0.5, "explodes"),
        (-0.01, 0.01, "near-critical"),
        (-0.03, -0.021, "decays"),
        (-0.03, -0.01, "near-critical"),
        (0.015, 0.05, "near-critical"),
    ],
)
def test_classify_growth_uses_the_ci_and_tolerance(lo, hi, expected):
    assert summaries.classify_growth(lo, hi, tol=0.02) == expected


def test_paper_behavior_reads_table_5_1():
    assert [summaries.paper_behavior(s) for s in (0.5, 1.0, 1.5)] == [
        "decays",
        "oscillates",
        "explodes",
    ]


def test_fmt_is_fixed_and_marks_non_finite():
    assert formatting.fmt(1.23456789) == "1.235"
    assert formatting.fmt(float("inf")) == "∞"
    assert formatting.fmt(float("nan")) == "–"
    assert formatting.fmt(3.0) == "3"


def test_markdown_and_latex_render_ci_pairs_and_escape():
    df = pd.DataFrame(
        {
            "b_dist": ["scaled_normal"],
            "growth_rate_mean": [0.5],
            "growth_rate_ci_low": [0.4],
            "growth_rate_ci_high": [0.6],
        }
    )
    md = formatting.to_markdown(df, "en")
    assert "[0.40, 0.60]" in md and "N(0,1/n)" in md
    tex = formatting.to_latex(df, "en")
    assert "\\toprule" in tex and "\\bottomrule" in tex and "[0.40, 0.60]" in tex
    assert tex.count("&") == 2 * 2  # header and one row, three columns each
