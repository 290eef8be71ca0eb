"""What every figure drawer shares: the drawer registry, the page size and fonts, colours and
line styles, the figure text of report/text.yaml, and ``finish``, which lays a figure out and
records what it plots (axis labels, panel titles, the setting it holds fixed) so that a test can
compare the caption with the code.

Single-column size (3.5 in wide), fonts readable in print, labels in the configured language.
"""

from __future__ import annotations

from collections.abc import Callable

from lnpaper.report.labels import label, texts

WIDTH_IN = 3.5
DRAWERS: dict[str, Callable] = {}

TEXT: dict = texts("figures")  # report/text.yaml

SCALE_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
LINE_STYLES = ["--", "-", ":", "-."]
NORM_COLORS = {
    "none": "#666666",
    "layernorm": "#1b9e77",
    "rmsnorm": "#d95f02",
    "batchnorm": "#7570b3",
    "groupnorm": "#e7298a",
    "dyt": "#66a61e",
}


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


def finish(
    fig, legend_ax=None, rect=None, fixed: dict | None = None, language: str = "en", **legend
):
    """The last step of every drawer: a frameless legend on ``legend_ax`` (when given), the
    title naming the setting the figure holds fixed (``fixed``: label key -> value, e.g.
    dataset and depth), a tight layout (inside ``rect`` when given, leaving room for a legend
    below), and ``fig.lnpaper_facts``: what the figure plots, read back from its axes."""
    if legend_ax is not None:
        legend_ax.legend(frameon=False, **legend)
    fixed = fixed or {}
    if fixed:
        fig.suptitle(", ".join(fixed_text(k, v, language) for k, v in fixed.items()), fontsize=7)
    fig.tight_layout(**({"rect": rect} if rect else {}))
    fig.lnpaper_facts = {
        "x": sorted({ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()}),
        "y": sorted({ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()}),
        "panels": [ax.get_title() for ax in fig.axes if ax.get_title()],
        "fixed": dict(fixed),
    }
    return fig


def fixed_text(key: str, value, language: str) -> str:
    """One fixed setting as a title shows it: "digits (sklearn)", "depth 20", "n = 30"."""
    if key == "dataset":
        return label(value, language)
    if key == "n":
        return f"n = {value}"
    return f"{figure_text(key, language)} {value}"


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


def plain_ticks(axis, minor: bool = True) -> None:
    """Tick labels of a log axis as plain numbers (0.5, 2, 300) instead of 5×10⁻¹; when the
    axis shows fewer than two powers of ten, the minor ticks at 2, 3 and 5 times a power of ten are
    labelled too (the others stay unlabelled, so neighbours do not collide)."""
    import math

    from matplotlib import ticker

    def minor_text(v, _):
        lead = v / 10 ** math.floor(math.log10(v) + 1e-9) if v > 0 else 0
        return f"{v:g}" if round(lead) in (2, 3, 5) and abs(lead - round(lead)) < 1e-6 else ""

    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    if minor:
        axis.axes.autoscale_view()
        lo, hi = sorted(axis.get_view_interval())
        # fewer than two labelled powers of ten in view: the minor labels give the scale
        few = lo > 0 and math.floor(math.log10(hi)) - math.ceil(math.log10(lo)) < 1
        axis.set_minor_formatter(
            ticker.FuncFormatter(minor_text) if few else ticker.NullFormatter()
        )


def integer_ticks(axis) -> None:
    """Whole-number ticks only (layers, steps counted in units)."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.MaxNLocator(nbins=5, integer=True))
