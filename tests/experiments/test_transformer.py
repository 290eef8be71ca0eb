"""Transformer experiment: the stacked training model is the encoder it starts from, seeds
trained side by side equal each seed alone, the no-normalization baseline has no LayerNorm, and
the gradient profile at initialization (Post-LN grows to the top, Pre-LN falls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from conftest import ROOT
from lnpaper.experiments import transformer
from lnpaper.pipeline.config import load_yaml

CFG = load_yaml(ROOT / "tests/configs/units.yaml")["transformer"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("arch", list(transformer.ARCHS))
def test_stacked_model_is_each_seeds_encoder(arch):
    """Slice k of the stacked model computes seed k's nn.TransformerEncoder, and its gradient."""
    singles = [transformer.build_model(CFG, 2, arch, 42, s) for s in range(3)]
    stacked = transformer.StackedSeqModel(singles, arch, CFG["heads"])
    x = torch.randint(
        0, CFG["vocab"], (3, 4, CFG["seq_len"]), generator=torch.Generator().manual_seed(1)
    )
    out = stacked(x)  # 3, B*T, V
    out[1].sum().backward()
    ref = singles[1](x[1])
    ref.sum().backward()
    torch.testing.assert_close(out[1], ref.reshape(-1, CFG["vocab"]), rtol=1e-5, atol=1e-6)
    name = "encoder.layers.0.linear2.weight"
    grad = stacked.flat[stacked.names.index(name)].grad
    torch.testing.assert_close(grad[1], dict(singles[1].named_parameters())[name].grad)
    assert grad[0].abs().sum() == 0 and grad[2].abs().sum() == 0  # nothing reaches other seeds


@pytest.mark.parametrize("arch", list(transformer.ARCHS))
def test_runs_stacked_train_as_each_run_alone(arch):
    """Three seeds with and without warm-up trained side by side (two optimizers over slices of
    one stacked model) give each run's own result within 1e-5."""
    rows, curve = transformer.train_runs(CFG, 2, arch, [True, False], 42, [0, 1, 2])
    curve = pd.DataFrame(curve)
    assert len(curve) == 6 * 5  # steps 0, 2, 4, 6 (log_every) and the last, 7
    assert [(r["warmup"], r["seed"]) for r in rows] == [
        (w, s) for w in (True, False) for s in range(3)
    ]
    for row in rows:
        warm, k = row["warmup"], row["seed"]
        alone, c1 = transformer.train_run(CFG, 2, arch, warm, 42, k)
        c1 = pd.DataFrame(c1)
        mine = curve[(curve["seed"] == k) & (curve["warmup"] == warm)]
        np.testing.assert_allclose(mine["loss"], c1["loss"], rtol=1e-5)
        np.testing.assert_allclose(mine["grad_norm"], c1["grad_norm"], rtol=1e-5)
        assert row["test_loss"] == pytest.approx(alone["test_loss"], rel=1e-5)
        assert row["final_loss"] == pytest.approx(alone["final_loss"], rel=1e-5)
    # the runs themselves differ far more: a leak between slices would show
    by_run = curve.groupby(["warmup", "seed"])["loss"]
    seed0, seed1 = (by_run.get_group((True, k)).to_numpy() for k in (0, 1))
    assert np.abs(seed0 - seed1).max() > 1e-2
    warm, cold = (by_run.get_group((w, 0)).to_numpy() for w in (True, False))
    assert warm[0] == cold[0] and np.abs(warm - cold).max() > 1e-3  # same start, other lr


def test_no_norm_baseline_has_no_layernorm_and_the_same_rows():
    model = transformer.build_model(CFG, 2, "none", 42, 0)
    assert not any(isinstance(m, nn.LayerNorm) for m in model.modules())
    post = transformer.build_model(CFG, 2, "post_ln", 42, 0)
    assert sum(isinstance(m, nn.LayerNorm) for m in post.modules()) == 4
    cfg = {
        **CFG,
        "layers": [2],
        "archs": ["post_ln", "none"],
        "warmup": [False],
        "n_seeds": 1,
        "grad_seeds": 1,
    }
    frames = transformer.run(cfg, seed=42)
    for name, df in frames.items():
        a, b = df[df["arch"] == "post_ln"], df[df["arch"] == "none"]
        assert len(a) == len(b) > 0, name
        assert not b.drop(columns=["arch"]).equals(a.drop(columns=["arch"])), name


def test_a_diverged_run_stops_and_keeps_its_last_finite_weights():
    """lr so large that the runs blow up: each run's curve ends at its diverged step, whose loss
    is the non-finite one; the other runs are unaffected by it."""
    cfg = {**CFG, "lr": 1e6, "steps": 20, "log_every": 1}
    rows, curve = transformer.train_runs(cfg, 2, "none", [False], 42, [0, 1])
    curve = pd.DataFrame(curve)
    for k, row in enumerate(rows):
        c = curve[curve["seed"] == k]
        if row["diverged"]:
            assert c["step"].max() == row["diverged_step"]
            assert not np.isfinite(c["loss"].iloc[-1]) and np.isnan(c["grad_norm"].iloc[-1])
            assert np.isfinite(c["loss"].iloc[:-1]).all()
        else:
            assert c["step"].max() == cfg["steps"] - 1
    assert any(r["diverged"] for r in rows)


def test_transformer_gradients_at_init_post_ln_grow_to_top_pre_ln_fall():
    cfg = dict(vocab=10, seq_len=8, d_model=64, heads=4, ffn=128, batch_size=16, task="reverse")
    prof = {}
    for arch in ("post_ln", "pre_ln"):
        rows = [
            r
            for s in range(2)
            for r in transformer.init_grads(cfg, 12, arch, 42, s)
            if r["param"] == "ffn_w2"
        ]
        prof[arch] = pd.DataFrame(rows).groupby("layer")["grad_norm"].mean().to_numpy()
    assert prof["post_ln"][-1] > 1.5 * prof["post_ln"][5]  # Post-LN: largest at the top
    assert prof["pre_ln"][0] > 2 * prof["pre_ln"][-1]  # Pre-LN: falls toward the top
