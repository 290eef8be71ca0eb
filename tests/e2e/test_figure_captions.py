"""Every figure drawn from tiny experiment outputs, in both languages: its caption names what its
code plots (each axis label, each panel title, the setting it holds fixed), the title states
that setting's value from the data (the reference depth, dataset or matrix size), and nothing
is drawn outside the figure."""

from __future__ import annotations

import importlib

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from conftest import ROOT
from lnpaper.experiments import data
from lnpaper.pipeline import registry
from lnpaper.report import figures
from lnpaper.report.figure_kit import figure_text, fixed_text
from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import reference_dataset, reference_depth, reference_n

# smaller than the tiny build where a figure needs no more (training and Transformer steps)
SMALLER = {
    "training": {"datasets": ["digits"], "norms": ["none", "layernorm"], "steps": 8},
    "transformer": {"steps": 2, "n_seeds": 2, "grad_seeds": 2},
}


def tiny_config() -> dict:
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    tiny = yaml.safe_load((ROOT / "tests/configs/tiny.yaml").read_text())
    out = {}
    for exp in ["data", *registry.EXPERIMENTS]:
        sec = dict(base[exp])
        for over in (tiny.get(exp, {}), SMALLER.get(exp, {})):
            for k, v in over.items():
                sec[k] = {**sec[k], **v} if isinstance(v, dict) else v
        out[exp] = sec
    return out


@pytest.fixture(scope="module")
def built():
    cfg = tiny_config()
    matrices = data.run(cfg["data"], seed=42)["matrices"]
    frames = {}
    for exp in registry.EXPERIMENTS:
        module = importlib.import_module(f"lnpaper.experiments.{exp}")
        out = module.run(cfg[exp], seed=42, inputs={"matrices": matrices})
        frames.update({f"{exp}/{name}": df for name, df in out.items()})
    experiments = {e: cfg[e] for e in registry.EXPERIMENTS}
    return frames, experiments


def words(text: str) -> str:
    """Letters and digits only, lower case: "$\\ln\\,\\|A_k\\|_F$" and "$\\ln\\|A_k\\|_F$" agree,
    as do a title broken over two lines and the same words on one."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


CAPTIONS = yaml.safe_load((ROOT / "manuscript/captions.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("name", list(registry.FIGURES))
def test_caption_names_what_the_figure_plots(built, name, language):
    frames, experiments = built
    cfg = StepConfig(experiments, 42, language)
    fig = figures.draw(name, {s: frames[s] for s in registry.FIGURES[name]}, cfg)
    facts = fig.lnpaper_facts
    caption = words(CAPTIONS[f"figure:{name}"][language])
    assert facts["x"] and facts["y"], "every figure labels both axes"
    for kind in ("x", "y", "panels"):
        for text in facts[kind]:
            assert words(text) in caption, f"{name} ({language}): {kind} {text!r} not in caption"
    for key, value in facts["fixed"].items():
        # the caption says which setting is held fixed, the title says its value
        assert words(figure_text(key, language)) in caption, f"{name}: caption omits {key}"
        assert fixed_text(key, value, language) in fig._suptitle.get_text()
    # nothing clipped: everything drawn (titles, labels, legends, markers) lies on the canvas
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    page = fig.bbox_inches
    assert drawn.x0 >= page.x0 - 0.01 and drawn.x1 <= page.x1 + 0.01, name
    assert drawn.y0 >= page.y0 - 0.01 and drawn.y1 <= page.y1 + 0.01, name
    plt.close(fig)


def test_training_figures_show_the_reference_setting(built):
    frames, experiments = built
    cfg = StepConfig(experiments, 42, "en")
    for name, source in (
        ("grad_norms", "training/layer_grads"),
        ("training_curves", "training/curves"),
    ):
        fig = figures.draw(name, {source: frames[source]}, cfg)
        fixed = fig.lnpaper_facts["fixed"]
        assert fixed["depth"] == reference_depth(frames[source])
        assert fixed["dataset"] == reference_dataset(frames[source])
        assert f"depth {fixed['depth']}" in fig._suptitle.get_text()
    growth = frames["matmul/growth"]
    fig = figures.draw(
        "matmul_norms",
        {"matmul/trajectories": frames["matmul/trajectories"], "matmul/growth": growth},
        cfg,
    )
    assert fig.lnpaper_facts["fixed"] == {"n": reference_n(growth)}


def test_precision_draws_zero_at_zero_and_non_finite_outside_the_axis(built):
    frames, experiments = built
    cfg = StepConfig(experiments, 42, "en")
    e = frames["precision/errors"].copy()
    # a non-finite output: its marker goes above the panel, at no value of the error axis
    bad = (e["method"] == "naive") & (e["offset"] == e["offset"].max())
    e.loc[bad, "max_abs_error"] = np.nan
    e.loc[bad, "finite_output"] = False
    fig = figures.draw("precision", {"precision/errors": e}, cfg)
    ax = fig.axes[0]
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0
    assert 0.0 in list(ax.get_xticks()) and "0" in [t.get_text() for t in ax.get_xticklabels()]
    above = [
        line for line in ax.lines if line.get_transform() != ax.transData and not line.get_clip_on()
    ]
    assert above and all(np.all(np.asarray(line.get_ydata()) > 1) for line in above)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "one-pass E[x²]−E[x]²" in legend and "naive" not in legend
    assert any(t.startswith("accuracy threshold 0.1") for t in legend)
    assert any(
        abs(line.get_ydata()[0] - 0.1) < 1e-12 for line in ax.lines if len(line.get_ydata()) == 2
    )
