"""Claims of sections 4.1.4, 6.2 and 6.3 (training, batch dependence, Post-LN), each verdict from
an explicit rule on the measured numbers of the training, batch_dependence and transformer
experiments. Registered into ``claims.CLAIMS`` on import (claims.py imports this module).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lnpaper.experiments.seeding import numpy_rng
from lnpaper.experiments.stats import interval
from lnpaper.report.claim_text import join, t
from lnpaper.report.summaries import online_ok, sd_interval, transformer_grad_profile
from lnpaper.report.verdicts import (
    ALPHA,
    ONE_TEST,
    ClaimResult,
    binomial_p,
    ci_text,
    ci_values,
    claim,
    combine,
    count_state,
    not_measured,
    side,
)

# first-layer gradient norm outside this band = vanishing / exploding (orders of magnitude from
# the O(1) of a well-conditioned net; the measured values sit at 1e-7 or below, or 1e2 above)
GRAD_BAND = (1e-4, 1e2)


KEYS = ["dataset", "arch", "depth"]


def paired_seeds(summary: pd.DataFrame, a: str = "layernorm", b: str = "none") -> pd.DataFrame:
    """Per (dataset, arch, depth, seed): the runs of normalizations a and b side by side (a seed
    has the same init and batches under every normalization, so the comparison is paired)."""
    left = summary[summary["norm"] == a].set_index(KEYS + ["seed"])
    right = summary[summary["norm"] == b].set_index(KEYS + ["seed"])
    return left.add_suffix("_a").join(right.add_suffix("_b"), how="inner").reset_index()


def _where(key) -> object:
    dataset, arch, depth = key
    return t("where", dataset=dataset, arch=arch, depth=int(depth))


def _condition(verdict: str, held: list, states: dict):
    """Where the statement holds, where it fails (the evidence against it, named beside the
    evidence for it) and where the data do not decide."""
    parts = []
    if verdict == "holds_only_if":
        parts.append(t("only_in", where=join([_where(k) for k in held], ", ")))
        failed = [k for k, v in states.items() if v == "fails"]
        if failed:
            parts.append(t("fails_in", where=join([_where(k) for k in failed], ", ")))
    undecided = [k for k, v in states.items() if v == "inconclusive"]
    if undecided and verdict != "holds":
        parts.append(t("undecided_in", where=join([_where(k) for k in undecided], ", ")))
    return join(parts) if parts else None


def _joined(parts: list, theory, verdict: str, cond, value: float) -> ClaimResult:
    """The result of a rule over conditions: each condition's part, joined."""
    return ClaimResult(join(parts), theory, verdict, cond, value=float(value))


def faster_per_seed(p: pd.DataFrame) -> pd.Series:
    """+1 where LN reaches the loss threshold first (or only LN reaches it), -1 where the
    unnormalized net does, 0 for a tie (both never reach it, or the same step)."""
    sa = p["steps_to_threshold_a"].where(np.isfinite(p["steps_to_threshold_a"]), np.inf)
    sb = p["steps_to_threshold_b"].where(np.isfinite(p["steps_to_threshold_b"]), np.inf)
    return pd.Series(np.sign(sb - sa).fillna(0.0), index=p.index)  # inf - inf = NaN: a tie


@claim(
    "4.1.4-faster-convergence",
    "4.1.4",
    "LayerNorm giúp mô hình hội tụ nhanh hơn",
    "LayerNorm makes training converge faster",
    ["training/summary"],
)
def layernorm_converges_faster(frames):
    """Sign test per condition, exact: among the seeds where one net reaches the loss threshold
    first, k of n where LN does; the one-sided exact binomial test against 1/2 (the claim has a
    direction) decides: LN faster at significance ALPHA holds, the unnormalized net faster at
    ALPHA fails, else inconclusive (5 of 5 seeds: p = 0.031 holds; 4 of 4: p = 0.0625 does not).
    A condition where every seed ties (both reach the threshold at the same step, or neither
    does) is not faster: fails. A condition where no seed of either net reaches the threshold
    measures no convergence speed: not measured (left out of the verdict, named in the
    condition). Conditions are combined by ``verdicts.combine``: a condition decided either way
    is reported, undecided ones are named."""
    p = paired_seeds(frames["training/summary"])
    if p.empty:
        return not_measured(t("no_ln_pair"), t("faster_theory", alpha=ALPHA), t("no_ln_pair"))
    states, parts = {}, []
    for key, g in p.groupby(KEYS, sort=True):
        reached = np.isfinite(g["steps_to_threshold_a"]) | np.isfinite(g["steps_to_threshold_b"])
        if not reached.any():
            states[key] = "not_measured"
            parts.append(t("faster_none", where=_where(key)))
            continue
        sign = faster_per_seed(g)
        decided = sign[sign != 0]
        if decided.empty:
            states[key] = "fails"
            parts.append(t("faster_ties", where=_where(key), n=len(sign)))
            continue
        k, n = int((decided > 0).sum()), len(decided)
        states[key] = count_state(k, n)
        parts.append(t("faster", where=_where(key), k=k, n=n, p=binomial_p(k, n, "greater")))
    verdict, held = combine(states)
    if verdict == "not_measured":
        return not_measured(join(parts), t("faster_theory", alpha=ALPHA), t("no_threshold_reached"))
    cond = _condition(verdict, held, states)
    measured = [k for k, v in states.items() if v != "not_measured"]
    if len(measured) < len(states) and verdict in ("holds", "holds_only_if"):
        # elsewhere neither net converged: "faster" is moot there
        where = t("threshold_reached_in", where=join([_where(k) for k in measured], ", "))
        verdict = "holds_only_if"
        cond = where if cond is None else t("and", a=cond, b=where)
    return _joined(
        parts,
        t("faster_theory", alpha=ALPHA),
        verdict,
        cond,
        np.mean([states[k] == "holds" for k in measured]),
    )


@claim(
    "4.1.4-less-oscillation",
    "4.1.4",
    "LayerNorm giúp mất mát ít dao động hơn",
    "LayerNorm makes the loss oscillate less",
    ["training/summary"],
)
def layernorm_oscillates_less(frames, cfg):
    """Per condition where both nets train (each reaches the loss threshold in at least half
    the seeds): the geometric mean over seeds of the paired ratio LN / none of the loss
    oscillation, with a bootstrap interval on the log scale; entirely below 1 holds, above 1
    fails, straddling 1 inconclusive."""
    p = paired_seeds(frames["training/summary"])
    if p.empty:
        return not_measured(t("no_ln_pair"), t("oscillation_theory"), t("no_ln_pair"))
    base = cfg.seed
    states, parts, ratios = {}, [], []
    n_all = p.groupby(KEYS).ngroups
    for key, g in p.groupby(KEYS, sort=True):
        trains = (
            np.isfinite(g["steps_to_threshold_a"]).mean() >= 0.5
            and np.isfinite(g["steps_to_threshold_b"]).mean() >= 0.5
        )
        r = (g["loss_oscillation_a"] / g["loss_oscillation_b"]).to_numpy(dtype=float)
        r = r[np.isfinite(r) & (r > 0)]
        if not trains or r.size == 0:
            continue
        rng = numpy_rng(base, "claim-oscillation", *key)
        m, lo, hi = interval(r, rng, kind="positive")
        ratios.append(m)
        states[key] = {"below": "holds", "above": "fails"}.get(side(lo, hi, 1.0), "inconclusive")
        parts.append(t("oscillation", where=_where(key), **ci_values(m, lo, hi, "ratio")))
    if not states:
        return not_measured(t("no_training_pair"), t("oscillation_theory"), t("untestable"))
    verdict, held = combine(states)
    cond = _condition(verdict, held, states)
    if len(states) < n_all and verdict in ("holds", "holds_only_if"):
        # elsewhere a net stuck at chance has a flat loss: "less oscillation" is moot there
        both = t("both_train", where=join([_where(k) for k in states], ", "))
        if verdict == "holds":
            verdict = "holds_only_if"
        cond = both if cond is None else t("and", a=cond, b=both)
    return _joined(parts, t("oscillation_theory"), verdict, cond, np.exp(np.mean(np.log(ratios))))


def training_grad_medians(curves: pd.DataFrame) -> pd.Series:
    """Per (norm, dataset, arch, depth): the median over seeds of each seed's median over the
    logged training steps (step 0 included) of the first-layer weight-gradient norm, the
    gradient the net trains with, not only its value at initialisation. A NaN step (a
    diverged run) counts as outside any band (inf)."""
    g = curves["grad_norm"].where(np.isfinite(curves["grad_norm"]), np.inf)
    per_seed = g.groupby([curves[k] for k in ["norm", *KEYS, "seed"]]).median()
    return per_seed.groupby(level=["norm", *KEYS]).median()


@claim(
    "4.1.4-fewer-vanishing-exploding",
    "4.1.4",
    "LayerNorm giảm hiện tượng gradient biến mất hoặc bùng nổ",
    "LayerNorm reduces vanishing and exploding gradients",
    ["training/summary", "training/curves"],
    produces=("holds", "holds_only_if", "fails", "not_measured"),
)
def layernorm_keeps_gradients_in_range(frames):
    """During training, per condition (dataset, architecture, depth): the first-layer gradient
    norm's median over the logged steps (``training_grad_medians``), against a band of many
    orders of magnitude (GRAD_BAND): outside it the gradient vanishes or explodes. The claim is
    tested where the unnormalized net leaves the band (there is something to reduce): LayerNorm
    inside holds, outside fails. Where the unnormalized net stays inside too, the condition
    tests nothing (left out, named). Conditions are combined by ``verdicts.combine``. The
    measured values sit at 1e-7 or below when bad, so seed noise cannot move a median across
    the band. Gradients in the band are necessary for learning, not sufficient: a plain LN net
    that does not learn is reported beside the verdict."""
    s, curves = frames["training/summary"], frames["training/curves"]
    lo, hi = GRAD_BAND
    theory = t("grad_theory", lo=lo, hi=hi)
    med = training_grad_medians(curves)
    norms = set(med.index.get_level_values("norm"))
    if not {"layernorm", "none"} <= norms:
        return not_measured(t("no_ln_pair"), theory, t("no_ln_pair"))
    ln, none = med.xs("layernorm", level="norm"), med.xs("none", level="norm")
    states, parts = {}, []
    for key in sorted(set(ln.index) & set(none.index)):
        ln_out = not lo <= ln[key] <= hi
        none_out = not lo <= none[key] <= hi
        states[key] = "fails" if ln_out else "holds" if none_out else "not_measured"
        parts.append(t("grad_pair", where=_where(key), none=none[key], ln=ln[key]))
    verdict, held = combine(states)
    moot = [k for k, v in states.items() if v == "not_measured"]
    cond = _condition(verdict, held, states)
    if verdict == "not_measured":
        cond = t("grad_moot_all")
    elif moot and verdict != "fails":
        note = t("grad_moot", where=join([_where(k) for k in moot], ", "))
        cond = note if cond is None else t("and", a=cond, b=note)
    # healthy gradients are necessary, not sufficient: report whether LN nets actually trained
    plain = s[(s["norm"] == "layernorm") & (s["arch"] == "plain")]
    worst = plain.groupby("depth")["test_accuracy"].mean()
    if len(worst) and worst.min() < 0.5:
        yet = t("grad_yet", depth=int(worst.idxmin()), acc=worst.min())
        cond = yet if cond is None else t("and", a=cond, b=yet)
    deep = ln[ln.index.get_level_values("arch") == "plain"]
    deepest = deep[deep.index.get_level_values("depth") == s["depth"].max()]
    return ClaimResult(
        join(parts),
        theory,
        verdict,
        cond,
        value=float(deepest.median()) if len(deepest) else np.nan,
    )


@claim(
    "6.2-batchnorm-batch-dependent",
    "6.2, 4.2.2",
    "BatchNorm phụ thuộc vào batch, LayerNorm thì không",
    "BatchNorm depends on the batch, LayerNorm does not",
    ["batch_dependence/stats"],
    produces=ONE_TEST,
)
def batchnorm_depends_on_batch(frames):
    """A fixed sample's output SD across the batches it is placed in: BatchNorm in training
    mode above 0 at every batch size B >= 2 (it depends on the batch) and LayerNorm, RMSNorm and
    GroupNorm exactly 0 at every B: holds; else fails."""
    st = frames["batch_dependence/stats"]
    bn = st[(st["norm"] == "batchnorm") & (st["mode"] == "train") & (st["batch_size"] >= 2)]
    per_sample = st[st["norm"].isin(["layernorm", "rmsnorm", "groupnorm"])]
    if bn.empty or per_sample.empty:
        return not_measured(t("no_batch_pair"), t("bn_theory"), t("no_batch_pair"))
    bn_dep = bool((bn["output_std"] > 0).all())
    ln_exact = bool((per_sample["output_std"] == 0).all())
    sizes = [t("bn_size", b=int(b), sd=v) for b, v in zip(bn["batch_size"], bn["output_std"])]
    return ClaimResult(
        t("bn_spread", sizes=join(sizes, ", "), other=per_sample["output_std"].max()),
        t("bn_theory"),
        "holds" if bn_dep and ln_exact else "fails",
        value=float(bn["output_std"].iloc[0]),
        # the smallest batch's spread with the table's interval for it (chi-square over batches)
        value_ci=sd_interval(float(bn["output_std"].iloc[0]), int(bn["n_batches"].iloc[0])),
    )


@claim(
    "6.2-online-inference",
    "6.2",
    "LayerNorm dùng được với batch cỡ 1 (suy luận trực tuyến), BatchNorm thì không",
    "LayerNorm works with batch size 1 (online inference), BatchNorm does not",
    ["batch_dependence/stats"],
    produces=("holds", "holds_only_if", "fails", "not_measured"),
)
def layernorm_serves_batch_of_one(frames):
    """At batch size 1, per normalization and mode, "works" = runs and gives the sample the
    output it gets inside a batch (``summaries.online_ok``). LayerNorm works in training and
    eval mode and BatchNorm in neither: holds; BatchNorm works in eval mode only (running
    statistics): holds_only_if (training mode); LayerNorm failing: fails."""
    st = frames["batch_dependence/stats"]
    if not (st["batch_size"] == 1).any():
        return not_measured(t("no_batch_pair"), t("online_theory"), t("no_batch_pair"))
    ok = {
        (n, m): online_ok(st, n, m) for n in ("layernorm", "batchnorm") for m in ("train", "eval")
    }
    measured = join(
        [
            t("online_item", norm=n, mode=m, ok=t("works" if v else "broken"))
            for (n, m), v in ok.items()
        ]
    )
    ln_ok = ok[("layernorm", "train")] and ok[("layernorm", "eval")]
    if ln_ok and not ok[("batchnorm", "train")] and not ok[("batchnorm", "eval")]:
        verdict, cond = "holds", None
    elif ln_ok and not ok[("batchnorm", "train")]:
        verdict, cond = "holds_only_if", t("online_condition")
    else:
        verdict, cond = "fails", None
    return ClaimResult(measured, t("online_theory"), verdict, cond, value=float(ln_ok))


LEARNS_BELOW_CHANCE = 0.95  # learned: the final loss's interval lies below 95% of ln(vocab)


def _final_losses(rows: pd.DataFrame) -> pd.Series:
    """Final loss per seed; a diverged run (NaN / inf loss) counts as not learning: chance."""
    loss = rows["final_loss"].astype(float)
    return loss.where(np.isfinite(loss), rows["chance_loss"].astype(float))


@claim(
    "6.3-post-ln-trains",
    "6.3",
    "Transformer dùng LayerNorm(X + Sublayer(X)) (Post-LN) để ổn định huấn luyện",
    "The Transformer's LayerNorm(X + Sublayer(X)) (Post-LN) stabilises training",
    ["transformer/summary", "transformer/grads"],
)
def post_ln_stabilises_training(frames, cfg):
    """Post-LN stabilises training if, at the deepest stack, it learns (final loss clearly below
    chance ln(vocab)) and ends below the same Transformer without normalization (arch "none").
    Decided per warm-up setting (with / without), each on the paired (same seed) final-loss
    difference and its bootstrap interval, then combined by ``verdicts.combine``: a setting
    where the difference is significant is reported even when the other one is undecided
    (holds_only_if names the setting where it holds and the undecided one). Fails if Post-LN
    does not learn, or ends significantly above the baseline with no setting holding;
    inconclusive when every setting's interval straddles 0 or the build has no baseline."""
    s = frames["transformer/summary"]
    deep = int(s["layers"].max())
    post = s[(s["arch"] == "post_ln") & (s["layers"] == deep)]
    if post.empty:
        what = t("nothing_measured", what="post_ln")
        return not_measured(what, t("post_ln_theory"), what)
    base = cfg.seed
    chance = float(post["chance_loss"].iloc[0])
    summary = {}
    for warm, g in post.groupby("warmup", sort=True):
        rng = numpy_rng(base, "claim-post-ln", deep, bool(warm))
        summary[bool(warm)] = interval(_final_losses(g), rng)
    prof = transformer_grad_profile(frames["transformer/grads"])
    pr = prof[(prof["arch"] == "post_ln") & (prof["layers"] == deep)].sort_values("layer")
    ratio = float(pr["grad_norm"].iloc[-1] / pr["grad_norm"].iloc[0]) if len(pr) else float("nan")
    cold = summary.get(False, (float("nan"),) * 3)
    parts = [_post_ln_measured(post, summary, deep, chance, ratio)]
    learns = {w: v[2] < LEARNS_BELOW_CHANCE * chance for w, v in summary.items()}
    if not any(learns.values()):
        return ClaimResult(
            join(parts), t("post_ln_theory"), "fails", t("no_learning"), value=float(cold[0])
        )
    none = s[(s["arch"] == "none") & (s["layers"] == deep)]
    if none.empty:
        return ClaimResult(
            join(parts), t("post_ln_theory"), "inconclusive", t("no_baseline"), float(cold[0])
        )
    parts_vs, states = _post_vs_none(post, none, base, deep, learns)
    verdict, held = combine(states)
    parts += parts_vs
    cond = None
    if verdict == "holds_only_if":
        cond = t("warmup_condition") if held == [True] else t("without_warmup")
    undecided = [w for w, v in states.items() if v == "inconclusive"]
    if undecided and verdict != "inconclusive":
        where = t("undecided_in", where=join([_warmup(w) for w in undecided], ", "))
        cond = where if cond is None else t("and", a=cond, b=where)
    return ClaimResult(join(parts), t("post_ln_theory"), verdict, cond, value=float(cold[0]))


def _post_ln_measured(post, summary: dict, deep: int, chance: float, ratio: float) -> str:
    """The measured text of the Post-LN claim: final loss per warm-up setting, chance, the
    diverged share and the gradient ratio; a setting the config does not run is named as
    such, not printed as a dash."""
    absent = t("setting_not_run")
    return t(
        "post_ln",
        layers=deep,
        cold=ci_text(*summary[False]) if False in summary else absent,
        warm=ci_text(*summary[True]) if True in summary else absent,
        chance=chance,
        diverged=float(post[~post["warmup"]]["diverged"].mean()) if False in summary else absent,
        ratio=ratio,
    )


def _warmup(w: bool):
    return t("with_warmup" if w else "without_warmup")


def _post_vs_none(post, none, base: int, deep: int, learns: dict) -> tuple[list, dict]:
    """Per warm-up setting: the paired (same seed) final-loss difference Post-LN minus no
    normalization, with its bootstrap interval, and the state it gives (holds below 0, fails
    above, inconclusive across; a Post-LN that does not learn cannot hold)."""
    keys = ["warmup", "seed"]
    pair = (
        post.set_index(keys)
        .assign(loss=_final_losses(post).to_numpy())[["loss"]]
        .join(none.set_index(keys).assign(loss_b=_final_losses(none).to_numpy())[["loss_b"]])
        .dropna()
        .reset_index()
    )
    parts, states = [], {}
    for w, g in pair.groupby("warmup", sort=True):
        rng = numpy_rng(base, "claim-post-ln-vs-none", deep, bool(w))
        d, lo, hi = interval(g["loss"] - g["loss_b"], rng)
        parts.append(
            t(
                "post_vs_none",
                warmup=_warmup(bool(w)),
                diff=ci_text(d, lo, hi),
            )
        )
        better = {"below": "holds", "above": "fails"}.get(side(lo, hi, 0.0), "inconclusive")
        states[bool(w)] = better if learns.get(bool(w), False) or better != "holds" else "fails"
    return parts, states
