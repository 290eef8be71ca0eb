"""Every quoted number keeps its uncertainty: the 95% half-width, the standard error it implies
and the decimals it is printed with, in numbers.parquet (``quoting.compute``), numbers.json and
the numbers step's metrics."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lnpaper.manuscript.fill import numbers_json
from lnpaper.report import numbers
from lnpaper.report.uncertainty import Z95, parse_printed, se_metrics


@pytest.mark.parametrize(
    "text, value, decimals",
    [
        ("0.86 ± 0.06", 0.86, 2),
        ("1.6·10⁻⁸", 1.6e-8, 9),
        ("10⁻⁵", 1e-5, 5),
        ("−0.5", -0.5, 1),
        ("42", 42.0, 0),
        ("[0.708, 0.746]", 0.708, 3),
    ],
)
def test_printed_value_and_decimals(text, value, decimals):
    got = parse_printed(text)
    assert got is not None and math.isclose(got[0], value) and got[1] == decimals


def test_a_text_without_a_number_has_no_decimals():
    assert parse_printed("–") is None and parse_printed("∞") is None


def correlation_table() -> pd.DataFrame:
    rows = []
    for k, mean, lo, hi in ((3, 0.7271, 0.7081, 0.7461), (10, 0.9302, 0.9012, 0.9482)):
        rows.append(
            {
                "source": "iid",
                "group_size": k,
                "input_mean": 0.0,
                "normalized_over": "row",
                "pearson_r_mean": mean,
                "pearson_r_ci_low": lo,
                "pearson_r_ci_high": hi,
                "pearson_r_theory": 0.7254 if k == 3 else 0.9251,
            }
        )
    return pd.DataFrame(rows)


def test_compute_keeps_half_width_se_and_decimals():
    names = ["LnPearsonKThree", "LnPearsonTheoryKThree", "Seed"]
    out = numbers.compute(
        {"table:ln_correlation": correlation_table()}, {"seed": 42}, names
    ).set_index("name")
    r = out.loc["LnPearsonKThree"]
    assert math.isclose(r.ci_half_width, (0.7461 - 0.7081) / 2)
    assert math.isclose(r.se, r.ci_half_width / Z95)
    # printed with the decimals its interval sets: "0.727 ± 0.019"
    assert r.text.endswith("± 0.019") and r.decimals == 3
    theory = out.loc["LnPearsonTheoryKThree"]
    assert math.isnan(theory.se) and math.isnan(theory.ci_half_width) and theory.decimals == 4
    assert out.loc["Seed", "decimals"] == 0


def test_numbers_json_and_metrics_carry_the_uncertainty():
    frame = numbers.compute(
        {"table:ln_correlation": correlation_table()}, {"seed": 42}, ["LnPearsonKThree", "Seed"]
    )
    got = numbers_json(frame, None, {})["numbers"]
    assert got["LnPearsonKThree"]["se"] == pytest.approx(0.019 / Z95)
    assert got["LnPearsonKThree"]["decimals"] == 3
    assert got["Seed"]["se"] is None and got["Seed"]["ci_half_width"] is None
    assert got["Seed"]["decimals"] == 0
    metrics = se_metrics(frame)
    assert list(metrics) == ["se.LnPearsonKThree"]
    assert metrics["se.LnPearsonKThree"] == pytest.approx(0.019 / Z95)
