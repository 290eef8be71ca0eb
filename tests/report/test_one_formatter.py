"""One number formatter: a value and its uncertainty print with the same digits in the prose
(numbers.json, hence HTML, docx, PDF and the LaTeX bundle) and in every table."""

from __future__ import annotations

import pandas as pd
import pytest

from lnpaper.report import formatting, numbers, numfmt
from lnpaper.report.claim_text import render
from lnpaper.report.verdicts import ci_text


@pytest.mark.parametrize(
    "half, text",
    [
        (0.0020, "0.0020"),  # leading digit 2: two significant digits
        (0.024, "0.024"),
        (0.014, "0.014"),
        (0.0096, "0.010"),  # rounds up to a leading 1: two digits of the rounded value
        (0.04, "0.04"),  # leading digit 3 to 9: one
        (0.0072, "0.007"),
        (0.25, "0.25"),
        (3.0, "3"),
    ],
)
def test_uncertainty_has_two_digits_when_it_starts_with_1_or_2_else_one(half, text):
    dec = numfmt.decimals_for(half)
    assert numfmt.fmt_fixed(half, dec) == text


def test_prose_table_and_claims_text_print_an_interval_with_the_same_digits():
    mean, lo, hi = 0.3245, 0.3225, 0.3265  # half-width 0.0020
    assert numfmt.fmt_pm(mean, lo, hi) == "0.3245 ± 0.0020"
    spec = next(n for n in numbers.SPEC if n.uncertainty is not None)
    quoted = numbers.quote(spec, mean, 0.0020, None, None)
    assert quoted["text"] == "0.3245 ± 0.0020"
    assert quoted["tex"] == r"\ensuremath{0.3245 \pm 0.0020}"
    table = pd.DataFrame({"x_mean": [mean], "x_ci_low": [lo], "x_ci_high": [hi]})
    row = formatting.printed_frame(table).iloc[0]
    assert (row["x_mean"], row["x_ci"]) == ("0.3245", "[0.3225, 0.3265]")
    assert render(ci_text(mean, lo, hi), "en") == "0.3245 [0.3225, 0.3265]"


@pytest.mark.parametrize(
    "value, text, tex",
    [
        (-0.0174, "−0.0174", r"\ensuremath{-0.0174}"),  # one minus sign, U+2212, everywhere
        (-0.00001, "−1·10⁻⁵", r"\ensuremath{-1\times 10^{-5}}"),
        (1e-5, "10⁻⁵", r"\ensuremath{10^{-5}}"),
        (2.2e-16, "2.2·10⁻¹⁶", r"\ensuremath{2.2\times 10^{-16}}"),
        (12345.6, "1.235·10⁴", r"\ensuremath{1.235\times 10^{4}}"),  # never 1.235e+04
        (float("-inf"), "−∞", r"\ensuremath{-\infty}"),
        (float("nan"), "–", "--"),
    ],
)
def test_a_table_cell_and_its_tex_are_written_by_one_rule(value, text, tex):
    assert numfmt.fmt(value) == text
    assert numfmt.tex_of(text) == tex


def test_a_quoted_number_read_from_a_table_cell_prints_as_the_cell():
    table = pd.DataFrame(
        {
            "b_dist": ["normal"],
            "n": [10],
            "scale": [0.5],
            "growth_rate_theory": [0.40648524],
            "growth_rate_mean": [0.3788],
            "growth_rate_ci_low": [0.3383],
            "growth_rate_ci_high": [0.4127],
        }
    )
    out = numbers.compute(
        {"table:scale_behavior": table}, {}, ["MatmulRateNormalHalf", "MatmulTheoryNormalHalf"]
    ).set_index("name")
    assert out.loc["MatmulTheoryNormalHalf", "text"] == "0.4065"  # the table's 4 digits
    assert tuple(out.loc["MatmulTheoryNormalHalf", ["cell_column", "cell_row"]]) == (
        "growth_rate_theory",
        0,
    )
    assert out.loc["MatmulRateNormalHalf", "text"] == "0.38 ± 0.04"
    assert formatting.printed_frame(table).at[0, "growth_rate_mean"] == "0.38"


def test_small_measured_values_print_as_measured_not_as_rounding_zeros():
    # a vanishing gradient beside an exploding one: a result, not rounding noise
    df = pd.DataFrame(
        {
            "grad_norm_first_layer_init_mean": [1.6e-8, 1.3e4],
            "grad_norm_first_layer_init_ci_low": [1.2e-8, 1.1e4],
            "grad_norm_first_layer_init_ci_high": [2.2e-8, 1.6e4],
            "growth_rate_theory": [1.1e-12, 1.1],  # ln s + λ₁ at s*: zero by construction
        }
    )
    rows = [r.split("|")[1:-1] for r in formatting.to_markdown(df, "en").splitlines()[2:]]
    assert [c.strip() for c in rows[0]] == ["1.6·10⁻⁸", "[1.2·10⁻⁸, 2.2·10⁻⁸]", "0"]
    # fixed decimals that resolve a small value print it as m·10ⁿ; unresolved it rounds to 0
    assert numfmt.fmt_fixed(1.6e-8, 9) == "1.6·10⁻⁸" and numfmt.fmt_fixed(0.0004, 2) == "0.00"
