"""Figures of the training and normalizer comparisons (experiments training, batch_dependence,
transformer), registered into ``figure_kit.DRAWERS`` on import (``figures`` imports this
module)."""

from __future__ import annotations

import numpy as np

from lnpaper.report.figure_kit import (
    NORM_COLORS,
    drawer,
    figure_text,
    finish,
    integer_ticks,
    line_styles,
    new_figure,
    plain_ticks,
)
from lnpaper.report.labels import label
from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import reference_dataset, reference_depth


@drawer("training_curves")
def training_curves(frames: dict, cfg: StepConfig, language: str):
    """Training loss against step for each normalization (line: mean over seeds, band: min to
    max over seeds), plain vs residual, on the reference dataset at the reference depth."""
    c = frames["training/curves"]
    dataset, depth = reference_dataset(c), reference_depth(c)
    c = c[(c["dataset"] == dataset) & (c["depth"] == depth)]
    archs = [a for a in ("plain", "residual") if a in set(c["arch"])]
    fig, axes = new_figure(1, len(archs), height=2.5, sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        sub = c[c["arch"] == arch]
        for norm in [n for n in NORM_COLORS if n in set(sub["norm"])]:
            g = sub[sub["norm"] == norm].groupby("step")["loss"]
            m, lo, hi = g.mean(), g.min(), g.max()
            ax.plot(m.index, m.values, color=NORM_COLORS[norm], lw=0.9, label=label(norm, language))
            ax.fill_between(
                m.index, lo.values, hi.values, color=NORM_COLORS[norm], alpha=0.15, lw=0
            )
        ax.set_yscale("log")
        plain_ticks(ax.yaxis)
        ax.set_title(label(arch, language))
        ax.set_xlabel(figure_text("step", language))
        integer_ticks(ax.xaxis)
    axes[0][0].set_ylabel(figure_text("train_loss", language))
    # the plain panel's low corner is empty
    return finish(
        fig,
        axes[0][0],
        fixed={"dataset": dataset, "depth": depth},
        language=language,
        loc="lower left",
        fontsize=5,
    )


@drawer("grad_norms")
def grad_norms(frames: dict, cfg: StepConfig, language: str):
    """Weight-gradient norm of each layer at initialisation (step 0), mean over seeds, log
    scale, against the layer index: one net depth (the reference depth), plain vs residual."""
    g = frames["training/layer_grads"]
    dataset, depth = reference_dataset(g), reference_depth(g)
    g = g[(g["dataset"] == dataset) & (g["depth"] == depth) & (g["step"] == 0)]
    archs = [a for a in ("plain", "residual") if a in set(g["arch"])]
    fig, axes = new_figure(1, len(archs), height=2.5, sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        sub = g[g["arch"] == arch]
        for norm in [n for n in NORM_COLORS if n in set(sub["norm"])]:
            m = sub[sub["norm"] == norm].groupby("layer")["grad_norm"].mean()
            m = m[m > 0]  # an exact 0 (underflow) has no place on a log axis
            ax.plot(
                m.index + 1,
                m.values,
                marker="o",
                ms=1.5,
                color=NORM_COLORS[norm],
                lw=0.8,
                label=label(norm, language),
            )
        ax.set_yscale("log")
        ax.set_title(label(arch, language))
        ax.set_xlabel(figure_text("layer", language))
        integer_ticks(ax.xaxis)
    axes[0][0].set_ylabel(figure_text("grad_init", language))
    return finish(
        fig,
        axes[0][-1],
        fixed={"dataset": dataset, "depth": depth},
        language=language,
        fontsize=5,
    )


@drawer("batch_dependence")
def batch_dependence(frames: dict, cfg: StepConfig, language: str):
    """Spread of a fixed sample's output vs batch size (log-log) with the 1/sqrt(B) reference."""
    s = frames["batch_dependence/stats"]
    fig, ax = new_figure(height=2.4)
    markers = {"train": "o", "eval": "s"}
    for (norm, mode), g in s.groupby(["norm", "mode"], sort=True):
        g = g[(g["output_std"] > 0) & np.isfinite(g["output_std"])]
        if len(g):
            ax.plot(
                g["batch_size"],
                g["output_std"],
                marker=markers[mode],
                ms=3,
                color=NORM_COLORS.get(norm, "k"),
                lw=0.9,
                label=f"{label(norm, language)} ({label(mode, language)})",
            )
    bn = s[
        (s["norm"] == "batchnorm")
        & (s["mode"] == "train")
        & (s["output_std"] > 0)
        & np.isfinite(s["output_std"])
    ]  # an inf reference point would break the log axis
    if len(bn):
        b = np.array(sorted(bn["batch_size"]), dtype=float)
        ref = bn.sort_values("batch_size")["output_std"].iloc[0] * np.sqrt(b[0] / b)
        ax.plot(b, ref, "k--", lw=0.6, label="∝ 1/√B")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_ticks(ax.xaxis)
    plain_ticks(ax.yaxis)
    ax.set_xlabel(figure_text("batch_size", language))
    ax.set_ylabel(figure_text("spread", language))
    # which normalizations measured exactly 0 is read from the data, not assumed
    flat = []
    for norm, g in s.groupby("norm", sort=True):
        modes = [
            m for m, gm in g.groupby("mode", sort=True) if (gm["output_std"].fillna(0) == 0).all()
        ]
        if modes:
            flat.append(
                label(norm, language)
                + (
                    ""
                    if len(modes) == g["mode"].nunique()
                    else f" ({', '.join(label(m, language) for m in modes)})"
                )
            )
    if flat:
        ax.text(
            0.03,
            0.04,
            figure_text("zero_note", language) + ":\n" + ", ".join(flat),
            transform=ax.transAxes,
            fontsize=4.5,
        )
    return finish(fig, ax, language=language, loc="upper right")


@drawer("transformer_grads")
def transformer_grads(frames: dict, cfg: StepConfig, language: str):
    """FFN W2 gradient norm per layer at initialisation (line: mean over seeds, band: min to
    max): Post-LN vs Pre-LN (colour), each number of layers L (line style)."""
    g = frames["transformer/grads"]
    g = g[g["param"] == "ffn_w2"]
    fig, ax = new_figure(height=2.4)
    colors = {"post_ln": "#d95f02", "pre_ln": "#1b9e77"}
    g = g[g["arch"].isin(colors)]  # the no-LayerNorm baseline is not drawn
    styles = line_styles(sorted(set(g["layers"])))
    for (layers, arch), sub in g.groupby(["layers", "arch"], sort=True):
        m = sub.groupby("layer")["grad_norm"]
        mean, lo, hi = m.mean(), m.min(), m.max()
        ax.plot(
            mean.index,
            mean.values,
            marker="o",
            ms=2,
            ls=styles[layers],
            color=colors[arch],
            lw=0.9,
            label=f"{label(arch, language)}, L = {layers}",
        )
        ax.fill_between(mean.index, lo.values, hi.values, color=colors[arch], alpha=0.12, lw=0)
    ax.set_yscale("log")
    plain_ticks(ax.yaxis)
    integer_ticks(ax.xaxis)
    ax.set_xlabel(figure_text("layer", language))
    ax.set_ylabel(figure_text("ffn_grad", language))
    return finish(fig, ax, language=language)
