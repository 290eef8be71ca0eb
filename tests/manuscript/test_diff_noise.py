"""The noise-aware diff: a change within twice the combined standard error is noise, folded away;
a number without one changes when it prints differently; interval cells follow the same rule; a
flipped verdict comes first; a build diffed with itself shows nothing."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from lnpaper.manuscript import diff, diff_many, noise

TABLE = "| k | r | KTC 95% | n |\n|---|---|---|---|\n| 3 | {r} | {ci} | {n} |\n"


def build(label, values, verdicts, r="0.727", ci="[0.708, 0.746]", n="100") -> diff.Snapshot:
    """A seed's build: ``values`` name -> (value, text, se)."""
    return diff.Snapshot(
        label=label,
        numbers={k: (v, t) for k, (v, t, _) in values.items()},
        uncertainty={k: (se, None) for k, (_, _, se) in values.items()},
        tables={"ln_correlation": TABLE.format(r=r, ci=ci, n=n)},
        claims=pd.DataFrame(
            {
                "claim_id": list(verdicts),
                "claim": list(verdicts),
                "verdict": list(verdicts.values()),
            }
        ),
        paper="",
    )


SEED_42 = {
    "TrainAccLayerNorm": (0.86, "0.86 ± 0.06", 0.03),
    "TransformerLossPostWarmup": (1.75, "1.75", math.nan),
    "Seed": (42.0, "42", math.nan),
}
SEED_43 = {
    "TrainAccLayerNorm": (0.839, "0.839 ± 0.098", 0.05),  # moved 0.021 < 2 * 0.058
    "TransformerLossPostWarmup": (1.77, "1.77", math.nan),  # prints differently: changed
    "Seed": (43.0, "43", math.nan),
}


def test_rule():
    assert noise.classify(1.0, 1.0) == noise.SAME
    assert noise.classify(0.86, 0.839, 0.03, 0.05) == noise.NOISE
    assert noise.classify(0.86, 0.60, 0.03, 0.05) == noise.SIGNIFICANT
    # no standard error: printed digits decide
    assert noise.classify(1.7501, 1.7498, dec_a=2, dec_b=2) == noise.NOISE
    assert noise.classify(1.75, 1.77, dec_a=2, dec_b=2) == noise.SIGNIFICANT
    assert noise.classify(math.nan, 1.0) == noise.SIGNIFICANT
    assert noise.classify(math.nan, math.nan) == noise.SAME


@pytest.mark.parametrize(
    "old, new, kind",
    [
        ("0.86 ± 0.06", "0.84 ± 0.05", noise.NOISE),
        ("0.86 ± 0.06", "0.60 ± 0.05", noise.SIGNIFICANT),
        ("[0.708, 0.746]", "[0.712, 0.750]", noise.NOISE),
        ("[0.708, 0.746]", "[0.808, 0.846]", noise.SIGNIFICANT),
        ("1.75", "1.77", noise.SIGNIFICANT),
        ("hàng", "cột", noise.SIGNIFICANT),
    ],
)
def test_cells(old, new, kind):
    assert noise.cell_change(old, new) == kind


def test_an_estimate_beside_its_interval_column_takes_its_noise():
    row_a, row_b = ["3", "0.727", "[0.708, 0.746]"], ["3", "0.731", "[0.712, 0.750]"]
    se_a, se_b = noise.row_se(row_a), noise.row_se(row_b)
    assert math.isnan(se_a[0]) and se_a[1] == pytest.approx(0.019 / 1.96)
    assert noise.cell_change(row_a[1], row_b[1], se_a[1], se_b[1]) == noise.NOISE
    assert noise.cell_change(row_a[1], row_b[1]) == noise.SIGNIFICANT  # alone: printed digits


def test_two_seeds_mark_within_noise_changes_as_such(tmp_path):
    a = build("seed42", SEED_42, {"c1": "holds", "c2": "inconclusive"})
    b = build(
        "seed43", SEED_43, {"c1": "holds", "c2": "inconclusive"}, r="0.731", ci="[0.712, 0.750]"
    )
    d = diff.compute(a, b)
    assert d.noise_numbers == {"TrainAccLayerNorm"}
    assert set(d.significant_numbers) == {"TransformerLossPostWarmup", "Seed"}
    assert d.noise_cells == {"ln_correlation": {(1, 1), (1, 2)}}
    assert d.verdicts == []
    assert d.summary("en").startswith(
        "0 verdicts flipped, 2 numbers changed beyond noise (1 within noise), 0 table cells "
        "changed beyond noise (2 within noise)"
    )
    md = diff.report_markdown(a, b, d, "en")
    folded = md.index("<details>")
    assert md.index("`TransformerLossPostWarmup`") < folded < md.index("`TrainAccLayerNorm`")


def test_a_forced_flip_is_listed_first_as_a_flip():
    a = build("seed42", SEED_42, {"6.3-post-ln-trains": "inconclusive"})
    b = build("seed43", SEED_43, {"6.3-post-ln-trains": "fails"})
    d = diff.compute(a, b)
    assert d.verdicts == [("6.3-post-ln-trains", "6.3-post-ln-trains", "inconclusive", "fails")]
    md = diff.report_markdown(a, b, d, "en")
    assert md.index("6.3-post-ln-trains") < md.index("`TransformerLossPostWarmup`")
    assert d.summary("en").startswith("1 verdicts flipped")


def test_a_build_diffed_with_itself_shows_no_change():
    a = build("x", SEED_42, {"c1": "holds"})
    d = diff.compute(a, a)
    assert (d.numbers, d.verdicts, d.cells, d.noise_numbers) == ({}, [], {}, set())
    many = diff_many.compare([a, a, a])
    assert many["counts"] == {"same": 3, "noise": 0, "significant": 0, "verdict_flips": 0}


def test_many_builds_side_by_side_and_json():
    verdicts = [{"c": "holds"}, {"c": "holds"}, {"c": "fails"}]
    snaps = [
        build("s42", SEED_42, verdicts[0]),
        build("s43", SEED_43, verdicts[1]),
        build("s44", {**SEED_42, "Seed": (44.0, "44", math.nan)}, verdicts[2]),
    ]
    many = json.loads(json.dumps(diff_many.compare(snaps)))  # what --json writes
    acc = many["numbers"]["TrainAccLayerNorm"]
    assert acc["values"] == [0.86, 0.839, 0.86] and acc["change"] == "noise"
    assert not acc["significant"] and many["numbers"]["Seed"]["significant"]
    assert many["verdict_flips"] == [
        {"claim_id": "c", "claim": "c", "verdicts": ["holds", "holds", "fails"]}
    ]
    lines = diff_many.side_by_side(many, "en")
    assert "| `Seed` | 42 | 43 | 44 | **≠** |" in lines
    assert "| `TrainAccLayerNorm` | 0.86 ± 0.06 | 0.839 ± 0.098 | 0.86 ± 0.06 | ≈ |" in lines
