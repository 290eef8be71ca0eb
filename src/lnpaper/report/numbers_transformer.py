"""Quoted numbers of section 6.3, Post-LN vs Pre-LN (table ``transformer_pre_post``): the
set-up, the FFN gradient at init (mean over the gradient seeds, with its interval over them),
the final losses and the best accuracy, each estimate with its 95% interval over seeds.

Registered into ``quoting.SPEC`` on import; ``numbers`` imports this module after its own
numbers and before ``numbers_methods``, so the spec order (and numbers.tex) is unchanged.
"""

from __future__ import annotations

from lnpaper.report.quoting import half_width, number, pick
from lnpaper.report.summaries import reference_layers, run_count

# transformer: section 6.3, Post-LN vs Pre-LN (table transformer_pre_post)


def _tf_grad(col: str, arch: str):
    """Gradient at init (the same in every warm-up row of one architecture)."""

    def get(t):
        rows = t[(t["layers"] == reference_layers(t)) & (t["arch"] == arch)]
        if rows.empty:
            raise LookupError(f"no {arch} rows")
        return float(rows[col].iloc[0])

    return get


def _tf_loss(arch: str, warmup: bool, col: str = "final_loss_mean"):
    return lambda t: pick(t, col, layers=reference_layers(t), arch=arch, warmup=warmup)


number("TransformerSteps", "config:transformer", style="int")(
    lambda cfg: cfg["transformer"]["steps"]
)
number("TransformerWarmupSteps", "config:transformer", style="int")(
    lambda cfg: cfg["transformer"]["warmup_steps"]
)
number("TransformerLr", "config:transformer", digits=0, style="sci")(
    lambda cfg: cfg["transformer"]["lr"]
)
number("TransformerRefLayers", "table:transformer_pre_post", style="int")(reference_layers)
number("TransformerSeeds", "table:transformer_pre_post", style="int")(lambda t: t["n_seeds"].max())
for _arch, _word in (("post_ln", "Post"), ("pre_ln", "Pre")):
    for _end in ("Top", "Bottom"):
        _col = f"grad_ffn_{_end.lower()}_init"
        number(
            f"TransformerGrad{_word}{_end}",
            "table:transformer_pre_post",
            uncertainty=half_width(
                _tf_grad(f"{_col}_ci_low", _arch), _tf_grad(f"{_col}_ci_high", _arch)
            ),
        )(_tf_grad(_col, _arch))
    for _warm, _wword in ((False, "NoWarmup"), (True, "Warmup")):
        number(
            f"TransformerLoss{_word}{_wword}",
            "table:transformer_pre_post",
            uncertainty=half_width(
                _tf_loss(_arch, _warm, "final_loss_ci_low"),
                _tf_loss(_arch, _warm, "final_loss_ci_high"),
            ),
        )(_tf_loss(_arch, _warm))
        for _end in ("Low", "High"):  # interval bounds, for the manuscript's comparisons
            number(f"TransformerLoss{_word}{_wword}{_end}", "table:transformer_pre_post", digits=4)(
                _tf_loss(_arch, _warm, f"final_loss_ci_{_end.lower()}")
            )


def _tf_best(col: str):
    """``col`` of the best model (highest mean accuracy) at the reference depth."""

    def get(t):
        rows = t[t["layers"] == reference_layers(t)]
        return float(rows.loc[rows["test_accuracy_mean"].idxmax(), col])

    return get


number(
    "TransformerAccMax",
    "table:transformer_pre_post",
    uncertainty=half_width(_tf_best("test_accuracy_ci_low"), _tf_best("test_accuracy_ci_high")),
)(_tf_best("test_accuracy_mean"))
number("TransformerChanceLoss", "table:transformer_pre_post")(lambda t: t["chance_loss"].iloc[0])
number("TransformerRuns", "table:transformer_pre_post", style="int")(lambda t: run_count(t, False))
number("TransformerDiverged", "table:transformer_pre_post", style="int")(
    lambda t: run_count(t, True)
)
