"""Figures of the experiments on random matrices: products of matrices, LayerNorm's statistics,
gamma/beta, the placement of eps and the numerics of computing LayerNorm (registered into
``figure_kit.DRAWERS`` on import; ``figures`` imports this module)."""

from __future__ import annotations

import textwrap

import numpy as np

from lnpaper.report.figure_kit import (
    drawer,
    figure_text,
    finish,
    integer_ticks,
    new_figure,
    palette,
)
from lnpaper.report.labels import label
from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import PRECISION_THRESHOLD, reference_n

FP32_MAX = 3.4028235e38  # the largest float32: a Frobenius norm above sqrt(FP32_MAX) overflows


@drawer("matmul_norms")
def matmul_norms(frames: dict, cfg: StepConfig, language: str):
    """ln ||A_k||_F against step k (mean over seeds) per B distribution (one panel each) at the
    reference n, for each of the paper's scales, with and without LayerNorm, the theory line and
    the float32 overflow threshold; one legend below the panels, outside the data."""
    from matplotlib.lines import Line2D

    traj = frames["matmul/trajectories"]
    growth = frames["matmul/growth"]
    n_show = reference_n(growth)
    dists = [d for d in ("normal", "scaled_normal", "orthogonal") if d in set(traj["b_dist"])]
    fig, axes = new_figure(1, len(dists), height=2.9, sharey=False, squeeze=False)
    paper_scales = [float(s) for s in cfg.section("matmul")["scales"]]
    colors = palette(paper_scales)
    sub = traj[(traj["n"] == n_show) & traj["scale"].isin(paper_scales)]
    mean = sub.groupby(["b_dist", "scale", "layernorm", "step"])["log_norm"].mean().reset_index()
    for ax, dist in zip(axes[0], dists):
        for s in paper_scales:
            cur = mean[(mean["b_dist"] == dist) & (mean["scale"] == s)]
            plain, normed = cur[~cur["layernorm"]], cur[cur["layernorm"]]
            ax.plot(plain["step"], plain["log_norm"], color=colors[s], lw=1)
            ax.plot(normed["step"], normed["log_norm"], color=colors[s], lw=0.8, ls=":")
            g = growth[
                (growth["b_dist"] == dist)
                & (growth["n"] == n_show)
                & (growth["scale"] == s)
                & ~growth["layernorm"]
            ]
            if len(g) and len(plain):
                k = plain["step"].to_numpy()
                ax.plot(
                    k,
                    plain["log_norm"].iloc[0] + g["growth_rate_theory"].iloc[0] * k,
                    color="k",
                    lw=0.5,
                    ls="--",
                    alpha=0.6,
                )
        ax.axhline(0.5 * np.log(FP32_MAX), color="grey", lw=0.4)
        # a long name ("orthogonal (Haar)") wraps instead of running past its third of the page
        ax.set_title("\n".join(textwrap.wrap(f"B ~ {label(dist, language)}", 16)))
        ax.set_xlabel(figure_text("step", language))
        integer_ticks(ax.xaxis)
    axes[0][0].set_ylabel(figure_text("log_norm", language))
    handles = [Line2D([], [], color=colors[s], lw=1, label=f"s = {s:g}") for s in paper_scales]
    handles += [
        Line2D([], [], color="k", lw=0.5, ls="--", label=figure_text("theory", language)),
        Line2D([], [], color="k", lw=0.8, ls=":", label=figure_text("with_ln", language)),
        Line2D([], [], color="grey", lw=0.4, label=figure_text("overflow", language)),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=5.5, columnspacing=1
    )
    return finish(fig, rect=(0, 0.13, 1, 1), fixed={"n": n_show}, language=language)


@drawer("ln_distributions")
def ln_distributions(frames: dict, cfg: StepConfig, language: str):
    """Box plots over seeds of each group's mean and unbiased std, before and after LayerNorm,
    one row per (shape, normalized over). After LayerNorm the spread is at rounding level, so
    each box is drawn with a thick outline and a marker at its median: a box of zero width
    stays visible."""
    stats = frames["layernorm_stats/stats"]
    # one row per (shape, normalized over), before/after LN as two coloured boxes in that row:
    # half as many tick labels as one box per row, so they fit on one line at a readable size
    keys = list(dict.fromkeys(zip(stats["shape"], stats["normalized_over"])))
    fig, axes = new_figure(1, 2, height=0.9 + 0.25 * len(keys), sharey=True)
    colors = {"before": "#999999", "after": "#1f78b4"}
    markers = {"before": "|", "after": "D"}
    for ax, col in ((axes[0], "mean"), (axes[1], "std_unbiased")):
        for offset, stage in ((0.18, "before"), (-0.18, "after")):
            data = [
                stats[
                    (stats["shape"] == sh)
                    & (stats["normalized_over"] == ov)
                    & (stats["stage"] == stage)
                ][col].to_numpy()
                for sh, ov in keys
            ]
            pos = np.arange(len(keys)) + offset
            c = colors[stage]
            box = ax.boxplot(
                data,
                positions=pos,
                orientation="horizontal",
                widths=0.3,
                patch_artist=True,
                flierprops={"markersize": 1.5, "markeredgecolor": c},
                medianprops={"color": "k", "lw": 0.6},
                whiskerprops={"color": c},
                capprops={"color": c},
            )
            for patch in box["boxes"]:
                patch.set(facecolor=c, edgecolor=c, lw=1.0)
            medians = [float(np.median(d)) if len(d) else np.nan for d in data]
            ax.plot(medians, pos, markers[stage], color=c, ms=2.5, mec="k", mew=0.3, zorder=5)
            shape = {"before": "s", "after": "D"}[stage]
            ax.plot([], [], shape, color=c, mec="k", mew=0.3, label=label(stage, language))
        # half the width each: a long label ("độ lệch chuẩn không chệch") wraps, not clips
        ax.set_xlabel(textwrap.fill(label(col, language), 24))
    axes[0].set_yticks(range(len(keys)), [f"{sh} {label(ov, language)}" for sh, ov in keys])
    axes[0].set_ylabel(figure_text("ln_rows", language))
    axes[0].legend(
        frameon=False, loc="upper left", bbox_to_anchor=(0, 1.12), ncol=2, handletextpad=0.2
    )
    return finish(fig, language=language)


@drawer("ln_correlation")
def ln_correlation(frames: dict, cfg: StepConfig, language: str):
    from lnpaper.experiments import theory

    corr = frames["layernorm_stats/correlation"]
    grp = corr[corr["scope"] == "group"]
    fig, ax = new_figure(height=2.2)
    for mu, g in grp.groupby("input_mean"):
        m = g.groupby("group_size")["pearson_r"].agg(["mean", "std"]).reset_index()
        ax.errorbar(
            m["group_size"],
            m["mean"],
            yerr=m["std"],
            fmt="o",
            ms=2.5,
            capsize=1.5,
            label=f"{figure_text('measured', language)} (μ={mu:g})",
        )
    k = np.logspace(np.log10(2.2), np.log10(max(grp["group_size"].max(), 10)), 200)
    ax.plot(
        k,
        [theory.pearson_r_groupwise(x) for x in k],
        "k-",
        lw=0.8,
        label=f"{figure_text('theory', language)}: √(2/k)Γ(k/2)/Γ((k−1)/2)",
    )
    ax.axhline(1.0, color="grey", lw=0.5, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(figure_text("group_size", language))
    ax.set_ylabel(figure_text("pearson", language))
    return finish(fig, ax, language=language, loc="lower right")


@drawer("affine_grid")
def affine_grid(frames: dict, cfg: StepConfig, language: str):
    s = (
        frames["affine/stats"]
        .groupby(["gamma", "beta"])[["mean", "std_biased"]]
        .mean()
        .reset_index()
    )
    fig, ax = new_figure(height=2.4)
    ax.scatter(s["beta"], s["gamma"], s=0)
    for _, r in s.iterrows():
        ax.annotate(
            f"{r['mean']:.3g} / {r['std_biased']:.3g}",
            (r["beta"], r["gamma"]),
            ha="center",
            va="center",
            fontsize=6,
            bbox={"boxstyle": "round", "fc": "#eef", "ec": "#99a", "lw": 0.5},
        )
    ax.set_xlabel("β")
    ax.set_ylabel("γ")
    pad = 0.8
    ax.set_xlim(s["beta"].min() - pad * 2, s["beta"].max() + pad * 2)
    ax.set_ylim(s["gamma"].min() - pad, s["gamma"].max() + pad)
    ax.set_title(f"{label('mean', language)} / {figure_text('output_std', language)}")
    return finish(fig, language=language)


@drawer("eps_placement")
def eps_placement(frames: dict, cfg: StepConfig, language: str):
    e = frames["layernorm_stats/eps_placement"]
    fig, ax = new_figure(height=2.2)
    styles = {
        "torch": ("o", "nn.LayerNorm"),
        "pytorch": ("-", "(x−μ)/√(σ²+ε)"),
        "paper": ("--", "(x−μ)/(σ+ε)"),
    }
    for formula, (style, name) in styles.items():
        g = e[e["formula"] == formula].sort_values("sigma")
        col = "output_std" if formula == "torch" else "output_std_theory"
        ax.plot(g["sigma"], g[col], style, ms=3, lw=1, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(figure_text("input_sigma", language))
    ax.set_ylabel(figure_text("output_std", language))
    return finish(fig, ax, language=language, loc="lower right")


PRECISION_MARKERS = {"naive": "x", "two_pass": "s", "welford": "^", "torch": "o"}
PRECISION_COLORS = dict(zip(PRECISION_MARKERS, ["#d95f02", "#1b9e77", "#7570b3", "#333333"]))
OVERFLOW_GREY = "#cccccc"


LOG_DECADES = 12  # the most decades the precision figure's offset axis spans


@drawer("precision")
def precision(frames: dict, cfg: StepConfig, language: str):
    """Max |error| of each way of computing LayerNorm against the float64 reference, per dtype
    (one panel each), against the input's mean offset. The offset axis is linear up to the
    smallest non-zero offset (or 12 decades below the largest) and logarithmic above it (symlog), so offset 0 sits at 0; a
    NaN/inf output is marked above the panel, outside the error axis, not at a value on it.
    The dash-dot line is the accuracy threshold the text quotes."""
    e = frames["precision/errors"]
    tot = e[e["error_source"] == "total"]
    dtypes = [d for d in ("float32", "bfloat16", "float16") if d in set(tot["dtype"])]
    fig, axes = new_figure(1, len(dtypes), height=2.9, sharey=True, squeeze=False)
    positive = tot.loc[tot["offset"] > 0, "offset"]
    # at most LOG_DECADES decades on the log part: a subnormal offset (5e-324) next to 1e4 would
    # make the symlog transform singular (1 / width overflows)
    linthresh = (
        max(float(positive.min()), float(positive.max()) * 10.0**-LOG_DECADES)
        if len(positive)
        else 1.0
    )
    for ax, dtype in zip(axes[0], dtypes):
        rnd = e[(e["error_source"] == "input_rounding") & (e["dtype"] == dtype)]
        _precision_panel(ax, tot[tot["dtype"] == dtype], rnd, linthresh)
        ax.set_title(dtype, pad=11)
        ax.set_xlabel(label("offset", language))
    axes[0][0].set_ylabel(figure_text("max_error", language))
    axes[0][0].text(
        -0.02, 1.06, "NaN/inf", transform=axes[0][0].transAxes, ha="right", va="center", fontsize=5
    )
    overflow = bool(tot["input_overflow"].astype(bool).any())
    fig.legend(
        handles=_precision_legend(language, overflow),
        loc="lower center",
        ncol=2,
        frameon=False,
        fontsize=5.5,
    )
    return finish(fig, rect=(0, 0.15, 1, 1), language=language)


def _precision_panel(ax, g, rnd, linthresh: float) -> None:
    """One dtype: each method's max error (non-finite output marked above the panel), the
    input rounding alone, the offsets whose input overflows (grey), the accuracy threshold."""
    from matplotlib import ticker

    for method, m in PRECISION_MARKERS.items():
        h = g[g["method"] == method].sort_values("offset")
        y = h["max_abs_error"].where(np.isfinite(h["max_abs_error"]))
        color = PRECISION_COLORS[method]
        ax.plot(h["offset"], y, marker=m, ms=3, lw=0.8, color=color)
        bad = ~np.isfinite(h["max_abs_error"]) | ~h["finite_output"].astype(bool)
        bad &= ~h["input_overflow"].astype(bool)  # shaded: not the method's fault
        if bad.any():  # non-finite output is data: marked above the panel
            ax.plot(
                h["offset"][bad],
                np.full(int(bad.sum()), 1.06),
                marker=m,
                ls="none",
                color=color,
                ms=3.5,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
    rnd = rnd.drop_duplicates("offset").sort_values("offset")
    ax.plot(rnd["offset"], rnd["max_abs_error"], "k:", lw=0.8)
    for x in sorted(set(g.loc[g["input_overflow"].astype(bool), "offset"])):
        ax.axvline(x, color=OVERFLOW_GREY, lw=5, zorder=0)
    ax.axhline(PRECISION_THRESHOLD, color="grey", lw=0.7, ls="-.")
    ax.set_xscale("symlog", linthresh=linthresh, linscale=1)
    offsets = sorted(set(g["offset"]))
    ax.set_xticks(offsets, [power_text(o) for o in offsets], fontsize=5)
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(0, max(offsets) * 2 if max(offsets) > 0 else 1)
    ax.set_yscale("log")


def _precision_legend(language: str, overflow: bool) -> list:
    from matplotlib.lines import Line2D

    threshold = f"{figure_text('accuracy_threshold', language)} {PRECISION_THRESHOLD:g}"
    handles = [
        Line2D([], [], marker=m, ms=3, lw=0.8, color=PRECISION_COLORS[k], label=label(k, language))
        for k, m in PRECISION_MARKERS.items()
    ]
    handles += [
        Line2D([], [], color="k", ls=":", lw=0.8, label=figure_text("input_rounding", language)),
        Line2D([], [], color="grey", ls="-.", lw=0.7, label=threshold),
    ]
    if overflow:
        label_text = figure_text("input_overflow", language)
        handles.append(Line2D([], [], color=OVERFLOW_GREY, lw=5, label=label_text))
    return handles


SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power_text(x: float) -> str:
    """A tick label: 0, 1, 10, then 10ⁿ for the powers of ten above, else the number."""
    if x > 10 and float(np.log10(x)).is_integer():
        return "10" + str(int(np.log10(x))).translate(SUPERSCRIPT)
    return f"{x:g}"
