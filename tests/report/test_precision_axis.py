"""The precision figure's offset axis with a subnormal offset beside large ones: drawn without a
RuntimeWarning (the symlog transform was singular when its linear part ended at 5e-324)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

from lnpaper.experiments import precision  # noqa: E402
from lnpaper.report import figure_matrices, figures  # noqa: E402
from lnpaper.report.step_config import StepConfig  # noqa: E402


def test_subnormal_offset_draws_without_warning(tmp_path):
    cfg = {"enabled": True, "dtypes": ["float32", "bfloat16"], "rows": 6, "width": 3}
    cfg |= {"eps": 0.06, "offsets": [4853.9, 5e-324, 60888.3]}
    out = precision.run(cfg, seed=47)
    frames = {f"precision/{k}": v for k, v in out.items()}
    step = StepConfig(experiments={"precision": cfg}, seed=47, language="en")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figures.draw("precision", frames, step)
        fig.savefig(tmp_path / "precision.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "symlog"
    linthresh = ax.xaxis.get_transform().linthresh
    assert linthresh == 60888.3 * 10.0**-figure_matrices.LOG_DECADES
