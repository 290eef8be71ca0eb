"""Quoted numbers of the Method section (each experiment's set-up, read from the config) and of
the residual-net evidence on the article's training claims (read from the training summary).

Registered into ``quoting.SPEC`` on import; ``numbers`` imports this module after its own
numbers, so the spec order (and numbers.tex) keeps the older numbers first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lnpaper.report import claim_tolerances
from lnpaper.report.quoting import number
from lnpaper.report.summaries import reference_dataset, reference_depth

# ---------------------------------------------------------------- set-ups, from the config


def _cfg(section: str, key: str):
    return lambda cfg: cfg[section][key]


# name -> (config section, key, style, digits); each prints in the Method section
SETUP = {
    "PrecisionRows": ("precision", "rows", "int", 0),
    "PrecisionWidth": ("precision", "width", "int", 0),
    "BatchWidth": ("batch_dependence", "width", "int", 0),
    "BatchRepeats": ("batch_dependence", "n_batches", "int", 0),
    "BatchWarmupBatches": ("batch_dependence", "warmup_batches", "int", 0),
    "BatchWarmupSize": ("batch_dependence", "warmup_batch_size", "int", 0),
    "BatchGroupNormGroups": ("batch_dependence", "groupnorm_groups", "int", 0),
    "TransformerDModel": ("transformer", "d_model", "int", 0),
    "TransformerHeads": ("transformer", "heads", "int", 0),
    "TransformerFfn": ("transformer", "ffn", "int", 0),
    "TransformerVocab": ("transformer", "vocab", "int", 0),
    "TransformerSeqLen": ("transformer", "seq_len", "int", 0),
    "TransformerBatch": ("transformer", "batch_size", "int", 0),
    "TransformerGradSeeds": ("transformer", "grad_seeds", "int", 0),
    "TransformerFinalWindow": ("transformer", "final_window", "int", 0),
    "TrainTestFraction": ("training", "test_fraction", "fixed", 2),
    "TrainLossThreshold": ("training", "loss_threshold", "fixed", 2),
    "TrainSmoothWindow": ("training", "smooth_window", "int", 0),
    "TrainOscWindow": ("training", "oscillation_window", "int", 0),
    "TrainGroupNormGroups": ("training", "groupnorm_groups", "int", 0),
    "TrainDytAlpha": ("training", "dyt_alpha", "fixed", 2),
    "LnEpsWidth": ("layernorm_stats", "eps_width", "int", 0),
    "LnEpsRows": ("layernorm_stats", "eps_rows", "int", 0),
}
for _name, (_section, _key, _style, _digits) in SETUP.items():
    number(_name, f"config:{_section}", style=_style, digits=_digits)(_cfg(_section, _key))

# the synthetic task (training.synthetic): Gaussian clusters
for _name, _key, _style in (
    ("TrainSyntheticSamples", "n_samples", "int"),
    ("TrainSyntheticFeatures", "n_features", "int"),
    ("TrainSyntheticClasses", "n_classes", "int"),
    ("TrainSyntheticStd", "cluster_std", "fixed"),
):
    number(_name, "config:training", style=_style, digits=2)(
        lambda cfg, k=_key: cfg["training"]["synthetic"][k]
    )


def _digits_samples(_cfg) -> float:
    from lnpaper.experiments.training_spec import DIGITS_SAMPLES

    return float(DIGITS_SAMPLES)


def _digits_classes(_cfg) -> float:
    from lnpaper.report.summaries import DATASET_CLASSES

    return float(DATASET_CLASSES["digits"])


number("TrainDigitsSamples", "config:training", style="int")(_digits_samples)
number("TrainDigitsClasses", "config:training", style="int")(_digits_classes)


# the thresholds of the claims' rules (report/verdicts.py, report/claims_training.py)
def _alpha(_cfg) -> float:
    from lnpaper.report.verdicts import ALPHA

    return ALPHA


def _grad_band(end: int):
    def get(_cfg) -> float:
        from lnpaper.report.claims_training import GRAD_BAND

        return GRAD_BAND[end]

    return get


def _level(_cfg) -> float:
    """The confidence level of every interval, in percent (``stats.interval``'s default)."""
    import inspect

    from lnpaper.experiments.stats import interval

    return 100.0 * inspect.signature(interval).parameters["level"].default


def _learns_level(_cfg) -> float:
    from lnpaper.report.claims_training import LEARNS_BELOW_CHANCE

    return LEARNS_BELOW_CHANCE


def _asymmetry(_cfg) -> float:
    from lnpaper.report.numfmt import ASYMMETRY

    return ASYMMETRY


number("ClaimAlpha", "config", digits=2)(_alpha)
number("IntervalAsymmetry", "config", digits=1)(_asymmetry)
number("TransformerLearnsLevel", "config:transformer", digits=2)(_learns_level)
number("MatmulNearCriticalTol", "config:matmul", digits=2)(
    lambda cfg: cfg["matmul"]["near_critical_tol"]
)
number("IntervalLevel", "config", style="int")(_level)
number("TrainGradBandLow", "config:training", digits=0, style="sci")(_grad_band(0))
number("TrainGradBandHigh", "config:training", digits=0, style="sci")(_grad_band(1))


# the tolerances of the matrix claims, each quoted where its experiment is described
for _name, _section, _const, _style in (
    ("ClaimLnNormTol", "matmul", "LN_NORM_REL_TOL", "sci"),
    ("ClaimLnRateTol", "matmul", "LN_RATE_TOL", "sci"),
    ("ClaimEpsAgreeTol", "layernorm_stats", "EPS_AGREE_TOL", "sci"),
    ("ClaimMeanZeroTol", "layernorm_stats", "MEAN0_TOL", "sci"),
    ("ClaimStdOneTol", "layernorm_stats", "STD1_TOL", "fixed"),
    ("ClaimSlightR", "layernorm_stats", "SLIGHT_R", "fixed"),
    ("AffineClaimMeanTol", "affine", "AFFINE_MEAN_TOL", "sci"),
    ("AffineClaimStdTol", "affine", "AFFINE_STD_TOL", "fixed"),
):
    number(_name, f"config:{_section}", digits=0 if _style == "sci" else 2, style=_style)(
        lambda _cfg, const=_const: getattr(claim_tolerances, const)
    )
# the levels the residual-net comparisons are made against: no condition, and a ratio of one
number("TrainLevelNone", "config:training", style="int")(lambda _cfg: 0.0)
number("TrainLevelEven", "config:training", style="int")(lambda _cfg: 1.0)


# ---------------------------------------------------------------- residual nets, LN vs none

SUMMARY = "experiment:training/summary"


def _residual_states(s: pd.DataFrame) -> dict:
    """Per residual condition (dataset, depth) where a seed of either net reaches the loss
    threshold: the state of the convergence sign test (``claims_training``'s rule) and the
    k of n seeds where LayerNorm is first."""
    from lnpaper.report.claims_training import KEYS, faster_per_seed, paired_seeds
    from lnpaper.report.verdicts import count_state

    p = paired_seeds(s)
    p = p[p["arch"] == "residual"]
    out = {}
    for key, g in p.groupby(KEYS, sort=True):
        reached = np.isfinite(g["steps_to_threshold_a"]) | np.isfinite(g["steps_to_threshold_b"])
        if not reached.any():
            continue
        sign = faster_per_seed(g)
        decided = sign[sign != 0]
        k, n = int((decided > 0).sum()), len(decided)
        out[key] = (count_state(k, n) if n else "fails", k, n)
    return out


def _residual_count(state: str | None):
    def get(s):
        states = _residual_states(s)
        if not states:
            raise LookupError("no residual condition reaches the loss threshold")
        return float(sum(state is None or v[0] == state for v in states.values()))

    return get


def _residual_ref_seeds(part: int):
    """k (part 1) or n (part 2) of the residual net at the reference data set and depth."""

    def get(s):
        res = s[s["arch"] == "residual"]
        key = (reference_dataset(res), "residual", reference_depth(res))
        return float(_residual_states(s)[key][part])

    return get


number("TrainResidualConditions", SUMMARY, style="int")(_residual_count(None))
number("TrainResidualLater", SUMMARY, style="int")(_residual_count("fails"))
number("TrainResidualFasterSeeds", SUMMARY, style="int")(_residual_ref_seeds(1))
number("TrainResidualPairedSeeds", SUMMARY, style="int")(_residual_ref_seeds(2))


def residual_oscillation(s: pd.DataFrame, seed: int) -> dict:
    """Per residual condition where both nets train: (geometric mean, low, high) of the paired
    LN / none oscillation ratio, the interval drawn as the claims rule draws it (same generator)."""
    from lnpaper.experiments.seeding import numpy_rng
    from lnpaper.experiments.stats import interval
    from lnpaper.report.claims_training import KEYS, paired_seeds

    p = paired_seeds(s)
    out = {}
    for key, g in p[p["arch"] == "residual"].groupby(KEYS, sort=True):
        trains = (
            np.isfinite(g["steps_to_threshold_a"]).mean() >= 0.5
            and np.isfinite(g["steps_to_threshold_b"]).mean() >= 0.5
        )
        r = (g["loss_oscillation_a"] / g["loss_oscillation_b"]).to_numpy(dtype=float)
        r = r[np.isfinite(r) & (r > 0)]
        if trains and r.size:
            out[key] = interval(r, numpy_rng(seed, "claim-oscillation", *key), kind="positive")
    return out


def _oscillation(what: str):
    """The residual condition with the largest lower bound of the ratio (the strongest evidence
    that LayerNorm oscillates more): its ratio (``what`` = 0), low (1) or high (2); or the count
    of conditions whose interval lies above one (``what`` = "more") or that were compared."""

    def get(s, cfg):
        ratios = residual_oscillation(s, int(cfg["seed"]))
        if not ratios:
            raise LookupError("no residual condition where both nets train")
        if what == "more":
            return float(sum(lo > 1.0 for _, lo, _ in ratios.values()))
        if what == "compared":
            return float(len(ratios))
        return float(max(ratios.values(), key=lambda v: v[1])[what])

    get.with_config = True  # the interval is drawn from the config's seed
    return get


number("TrainResidualOscMore", SUMMARY, style="int")(_oscillation("more"))
number("TrainResidualOscCompared", SUMMARY, style="int")(_oscillation("compared"))
number("TrainResidualOscRatio", SUMMARY, digits=2)(_oscillation(0))
number("TrainResidualOscRatioLow", SUMMARY, digits=2)(_oscillation(1))
number("TrainResidualOscRatioHigh", SUMMARY, digits=2)(_oscillation(2))


# ---------------------------------------------------------------- the eps sweep at its smallest sigma


def _eps_smallest(col: str):
    return lambda t: float(t.loc[t["sigma"].idxmin(), col])


number("LnEpsSigmaMin", "table:eps_placement", digits=0, style="sci")(_eps_smallest("sigma"))
number("LnEpsStdTorchMin", "table:eps_placement", digits=3)(_eps_smallest("output_std_torch"))
number("LnEpsStdPaperMin", "table:eps_placement", digits=3)(
    _eps_smallest("output_std_paper_formula")
)
# the unit spread LayerNorm aims at, the level the smallest sigma's output is compared with
number("LnLevelOne", "config:layernorm_stats", style="int")(lambda _cfg: 1.0)
