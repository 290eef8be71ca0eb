"""The paper's figures, drawn from the experiment Parquet files.

Single-column size (3.5 in wide), fonts readable in print, labels in the configured language.
Saved as PNG and vector PDF with fixed metadata (no timestamps), so the same data gives the same
bytes; provenance (rule, config hash, commit) goes into the metadata, not the pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lnpaper.pipeline import io
from lnpaper.report.labels import label, texts
from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import reference_dataset, reference_depth, reference_n

WIDTH_IN = 3.5
DRAWERS: dict[str, Callable] = {}

TEXT: dict = texts("figures")  # report/text.yaml


def figure_text(key: str, language: str) -> str:
    return TEXT[key].get(language, TEXT[key]["en"]) if key in TEXT else label(key, language)


def drawer(name: str):
    def register(fn):
        DRAWERS[name] = fn
        return fn

    return register


def new_figure(nrows: int = 1, ncols: int = 1, height: float = 2.6, **kw):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 7,
            "axes.titlesize": 7,
            "axes.labelsize": 7,
            "legend.fontsize": 6,
            "xtick.labelsize": 6,
            "ytick.labelsize": 6,
            "font.family": "DejaVu Sans",
            "svg.hashsalt": "lnpaper",
            "pdf.fonttype": 42,
        }
    )
    return plt.subplots(nrows, ncols, figsize=(WIDTH_IN, height), **kw)


SCALE_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
LINE_STYLES = ["--", "-", ":", "-."]


def finish(fig, legend_ax=None, rect=None, suptitle: str = "", **legend):
    """The last step of every drawer: a frameless legend on ``legend_ax`` (when given), the
    figure's title, then a tight layout (inside ``rect`` when given, leaving room for a note)."""
    if legend_ax is not None:
        legend_ax.legend(frameon=False, **legend)
    if suptitle:
        fig.suptitle(suptitle, fontsize=7)
    fig.tight_layout(**({"rect": rect} if rect else {}))
    return fig


def dataset_title(dataset: str, depth: int, language: str) -> str:
    """The title of a training figure: which dataset and depth it shows."""
    return f"{label(dataset, language)}, {label('depth', language).lower()} {depth}"


def palette(keys, first: list[str] = SCALE_COLORS) -> dict:
    """A colour per key for any number of keys: ``first`` in order, then the tab20 colours."""
    import matplotlib

    extra = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab20"].colors]
    colors = first + [c for c in extra if c not in first]
    return {k: colors[i % len(colors)] for i, k in enumerate(keys)}


def line_styles(keys) -> dict:
    """A line style per key for any number of keys: the four named ones, then dash patterns."""
    styles = LINE_STYLES + [(0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), (0, (3, 1, 3, 4))]
    return {k: styles[i % len(styles)] for i, k in enumerate(keys)}


@drawer("matmul_norms")
def matmul_norms(frames: dict, cfg: StepConfig, language: str):
    traj = frames["matmul/trajectories"]
    growth = frames["matmul/growth"]
    n_show = reference_n(growth)
    dists = [d for d in ("normal", "scaled_normal", "orthogonal") if d in set(traj["b_dist"])]
    fig, axes = new_figure(1, len(dists), height=2.4, sharey=False, squeeze=False)
    paper_scales = [float(s) for s in cfg.section("matmul")["scales"]]
    colors = palette(paper_scales)
    sub = traj[(traj["n"] == n_show) & traj["scale"].isin(paper_scales)]
    mean = sub.groupby(["b_dist", "scale", "layernorm", "step"])["log_norm"].mean().reset_index()
    for ax, dist in zip(axes[0], dists):
        for s in paper_scales:
            cur = mean[(mean["b_dist"] == dist) & (mean["scale"] == s)]
            plain, normed = cur[~cur["layernorm"]], cur[cur["layernorm"]]
            ax.plot(plain["step"], plain["log_norm"], color=colors[s], lw=1, label=f"s={s:g}")
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
        ax.axhline(np.log(1.8e19), color="grey", lw=0.4)
        ax.set_title(f"B ~ {label(dist, language)}\nn = {n_show}")
        ax.set_xlabel(figure_text("step", language))
    axes[0][0].set_ylabel(figure_text("log_norm", language))
    axes[0][0].legend(loc="upper left", frameon=False)
    fig.text(
        0.5,
        0.005,
        f"-- {figure_text('theory', language)}   ··· {figure_text('with_ln', language)}   — {figure_text('overflow', language)}",
        ha="center",
        fontsize=6,
    )
    return finish(fig, rect=(0, 0.04, 1, 1))


@drawer("ln_distributions")
def ln_distributions(frames: dict, cfg: StepConfig, language: str):
    stats = frames["layernorm_stats/stats"]
    # one row per (shape, normalized over), before/after LN as two coloured boxes in that row:
    # half as many tick labels as one box per row, so they fit on one line at a readable size
    keys = list(dict.fromkeys(zip(stats["shape"], stats["normalized_over"])))
    fig, axes = new_figure(1, 2, height=0.9 + 0.25 * len(keys), sharey=True)
    colors = {"before": "#999999", "after": "#1f78b4"}
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
            box = ax.boxplot(
                data,
                positions=np.arange(len(keys)) + offset,
                orientation="horizontal",
                widths=0.3,
                patch_artist=True,
                flierprops={"markersize": 1.5},
                medianprops={"color": "k", "lw": 0.6},
            )
            for patch in box["boxes"]:
                patch.set(facecolor=colors[stage], lw=0.5)
            ax.plot([], [], "s", color=colors[stage], label=label(stage, language))
        ax.set_xlabel(label(col, language))
    axes[0].set_yticks(range(len(keys)), [f"{sh} {label(ov, language)}" for sh, ov in keys])
    axes[0].legend(
        frameon=False, loc="upper left", bbox_to_anchor=(0, 1.12), ncol=2, handletextpad=0.2
    )
    return finish(fig)


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
    return finish(fig, ax, loc="lower right")


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
    return finish(fig)


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
    ax.set_xlabel("σ")
    ax.set_ylabel(figure_text("output_std", language))
    return finish(fig, ax, loc="lower right")


@drawer("precision")
def precision(frames: dict, cfg: StepConfig, language: str):
    e = frames["precision/errors"]
    tot = e[e["error_source"] == "total"]
    dtypes = [d for d in ("float32", "bfloat16", "float16") if d in set(tot["dtype"])]
    fig, axes = new_figure(1, len(dtypes), height=2.3, sharey=True, squeeze=False)
    markers = {"naive": "x", "two_pass": "s", "welford": "^", "torch": "o"}
    for ax, dtype in zip(axes[0], dtypes):
        g = tot[tot["dtype"] == dtype]
        x0 = g["offset"].replace(0, np.nan).min() / 10 if (g["offset"] > 0).any() else 1.0
        for method, m in markers.items():
            h = g[g["method"] == method].sort_values("offset")
            x = h["offset"].where(h["offset"] > 0, x0)
            y = h["max_abs_error"]
            ax.plot(x, y, marker=m, ms=3, lw=0.8, label=method)
            bad = ~np.isfinite(y)
            if bad.any():  # non-finite output is data: marked at the top of the panel
                ax.plot(x[bad], np.full(bad.sum(), 1e4), marker=m, ls="none", color="red", ms=4)
        rnd = (
            e[(e["error_source"] == "input_rounding") & (e["dtype"] == dtype)]
            .drop_duplicates("offset")
            .sort_values("offset")
        )
        ax.plot(
            rnd["offset"].where(rnd["offset"] > 0, x0),
            rnd["max_abs_error"],
            "k:",
            lw=0.8,
            label="input rounding",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(dtype)
        ax.set_xlabel("offset" if language == "en" else "độ lệch (offset)")
    axes[0][0].set_ylabel("max |error|" if language == "en" else "max |sai số|")
    axes[0][0].legend(frameon=False, fontsize=5)
    fig.text(
        0.5, 0.005, "red = NaN/inf" if language == "en" else "đỏ = NaN/inf", ha="center", fontsize=5
    )
    return finish(fig, rect=(0, 0.03, 1, 1))


def save_figure(fig, png_path, pdf_path, provenance: dict[str, str] | None = None) -> None:
    """PNG (300 dpi) and PDF with fixed metadata: no dates, provenance as text fields."""
    import matplotlib.pyplot as plt

    prov = provenance or {}
    text = "; ".join(f"{k}={v}" for k, v in sorted(prov.items()))
    with io.atomic_path(png_path) as tmp:
        fig.savefig(
            tmp,
            format="png",
            dpi=300,
            metadata={
                "Software": None,
                "Description": text,
                **{k: str(v) for k, v in prov.items()},
            },
        )
    with io.atomic_path(pdf_path) as tmp:
        fig.savefig(
            tmp,
            format="pdf",
            metadata={
                "CreationDate": None,
                "ModDate": None,
                "Producer": None,
                "Creator": "lnpaper",
                "Subject": text,
            },
        )
    plt.close(fig)


def draw(name: str, frames: dict, cfg: StepConfig):
    """Figure ``name`` from its experiment frames, labelled in ``cfg.language``."""
    if name not in DRAWERS:
        raise KeyError(f"no figure named {name!r}; known: {', '.join(sorted(DRAWERS))}")
    return DRAWERS[name](frames, cfg, cfg.language)


# ---------------------------------------------------------------- training and normalizer comparisons
# (experiments training, batch_dependence, transformer)

NORM_COLORS = {
    "none": "#666666",
    "layernorm": "#1b9e77",
    "rmsnorm": "#d95f02",
    "batchnorm": "#7570b3",
    "groupnorm": "#e7298a",
    "dyt": "#66a61e",
}


@drawer("training_curves")
def training_curves(frames: dict, cfg: StepConfig, language: str):
    """Loss vs step for each normalization (mean over seeds, band = min..max), plain vs residual,
    on the first dataset at the middle depth."""
    c = frames["training/curves"]
    dataset, depth = reference_dataset(c), reference_depth(c)
    c = c[(c["dataset"] == dataset) & (c["depth"] == depth)]
    archs = [a for a in ("plain", "residual") if a in set(c["arch"])]
    fig, axes = new_figure(1, len(archs), height=2.4, sharey=True, squeeze=False)
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
        ax.set_title(label(arch, language))
        ax.set_xlabel(figure_text("step", language))
    axes[0][0].set_ylabel(figure_text("train_loss", language))
    # the plain panel's low corner is empty
    title = dataset_title(dataset, depth, language)
    return finish(fig, axes[0][0], loc="lower left", fontsize=5, suptitle=title)


@drawer("grad_norms")
def grad_norms(frames: dict, cfg: StepConfig, language: str):
    """Per-layer weight-gradient norm at initialisation (step 0), mean over seeds, log scale."""
    g = frames["training/layer_grads"]
    dataset, depth = reference_dataset(g), reference_depth(g)
    g = g[(g["dataset"] == dataset) & (g["depth"] == depth) & (g["step"] == 0)]
    archs = [a for a in ("plain", "residual") if a in set(g["arch"])]
    fig, axes = new_figure(1, len(archs), height=2.4, sharey=True, squeeze=False)
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
    axes[0][0].set_ylabel(figure_text("grad_init", language))
    title = dataset_title(dataset, depth, language)
    return finish(fig, axes[0][-1], fontsize=5, suptitle=title)


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
    return finish(fig, ax, loc="upper right")


@drawer("transformer_grads")
def transformer_grads(frames: dict, cfg: StepConfig, language: str):
    """FFN W2 gradient norm per layer at initialisation: Post-LN vs Pre-LN, each depth."""
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
            label=f"{label(arch, language)}, L={layers}",
        )
        ax.fill_between(mean.index, lo.values, hi.values, color=colors[arch], alpha=0.12, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel(figure_text("layer", language))
    ax.set_ylabel(figure_text("ffn_grad", language))
    return finish(fig, ax)
