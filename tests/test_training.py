"""Training experiment: stacked seeds are exact independent models, gradients are recorded,
divergence is data, per-run measures follow their definitions; the Transformer gradient profile;
the config check on batch sizes; the claims' verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lnpaper.experiments import training, transformer
from lnpaper.pipeline.config import ConfigError, load_yaml, validate
from lnpaper.report.step_config import StepConfig
from lnpaper.report.tables import normalizer_aggregate

CFG = dict(
    width=16,
    eps=1e-5,
    groupnorm_groups=4,
    dyt_alpha=0.5,
    lr=1e-3,
    steps=2,
    batch_size=8,
    log_every=1,
    oscillation_window=2,
    smooth_window=1,
    loss_threshold=0.5,
    test_fraction=0.2,
    synthetic=dict(n_samples=100, n_features=6, n_classes=3, cluster_std=1.0),
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return training.load_dataset("synthetic", 3, 0.2, CFG["synthetic"])


def test_two_step_run_records_loss_and_every_layers_gradient(data):
    depth, seeds = 3, [0, 1]
    summary, curves, layers = training.train_condition(
        data, "synthetic", "layernorm", depth, "plain", seeds, CFG, base_seed=3
    )
    assert len(summary) == 2 and len(curves) == 2 * 2  # 2 logged steps x 2 seeds
    assert len(layers) == 2 * depth * 2  # steps x layers x seeds
    assert set(layers["layer"]) == {0, 1, 2}
    assert (layers["grad_norm"] > 0).all() and np.isfinite(layers["grad_norm"]).all()
    first = layers[(layers["step"] == 0) & (layers["layer"] == 0)].sort_values("seed")
    np.testing.assert_allclose(
        [r["grad_norm_first_layer_init"] for r in summary], first["grad_norm"]
    )
    assert not any(r["diverged"] for r in summary)


def test_stacked_model_equals_an_ordinary_mlp(data):
    """Seed 1's slice of the stacked net has exactly the loss and first-layer gradient of an
    nn.Sequential with the same weights: stacking mixes nothing between seeds."""
    gens = [torch.Generator().manual_seed(s) for s in (10, 11)]
    x_tr, y_tr = data[0][:8], data[1][:8]
    model = training.StackedMLP(x_tr.shape[1], 3, 16, 3, "plain", "layernorm", gens)
    loss = training.per_model_ce(model(x_tr.expand(2, -1, -1)), y_tr.expand(2, -1))
    loss.sum().backward()
    layers = []
    for i in range(3):
        lin = nn.Linear(x_tr.shape[1] if i == 0 else 16, 16)
        with torch.no_grad():
            lin.weight.copy_(model.weights[i][1].T)
            lin.bias.copy_(model.biases[i][1, 0])
        layers += [lin, nn.LayerNorm(16), nn.ReLU()]
    head = nn.Linear(16, 3)
    with torch.no_grad():
        head.weight.copy_(model.weights[3][1].T)
        head.bias.copy_(model.biases[3][1, 0])
    ref = nn.Sequential(*layers, head)
    ref_loss = nn.functional.cross_entropy(ref(x_tr), y_tr)
    ref_loss.backward()
    torch.testing.assert_close(loss[1], ref_loss)
    torch.testing.assert_close(model.weights[0].grad[1], ref[0].weight.grad.T)


@pytest.mark.parametrize("arch", ["plain", "residual"])
def test_seeds_stacked_train_as_each_seed_alone(data, arch):
    """Three seeds trained side by side give each seed's own run: every logged loss and layer
    gradient norm and the test loss within 1e-5 (relative) of training that seed alone, for
    every normalization (batchnorm's statistics included), over 10 Adam steps."""
    from lnpaper.experiments.normalizers import NORMS

    cfg = {**CFG, "steps": 10}
    for norm in NORMS:
        both, curves, lg = training.train_condition(
            data, "synthetic", norm, 3, arch, [0, 1, 2], cfg, 3
        )
        for k in (0, 1, 2):
            alone, c1, lg1 = training.train_condition(data, "synthetic", norm, 3, arch, [k], cfg, 3)
            np.testing.assert_allclose(
                curves[curves["seed"] == k]["loss"], c1["loss"], rtol=1e-5, err_msg=norm
            )
            np.testing.assert_allclose(
                lg[lg["seed"] == k]["grad_norm"], lg1["grad_norm"], rtol=1e-5, err_msg=norm
            )
            # batchnorm: the bias before the norm has zero gradient up to rounding, so Adam
            # (which divides by |g|) moves it by +-lr on rounding noise; in training mode the
            # norm cancels it, but the eval-mode running mean follows it only partly
            rel = 1e-3 if norm == "batchnorm" else 1e-5
            assert both[k]["test_loss"] == pytest.approx(alone[0]["test_loss"], rel=rel)
        # the seeds themselves differ far more: a leak between slices would show
        assert both[0]["test_loss"] != pytest.approx(both[1]["test_loss"], rel=1e-3)


@pytest.mark.parametrize("arch", ["plain", "residual"])
def test_depths_stacked_train_as_each_depth_alone(data, arch):
    """Depths 3, 1 and 2 of one condition in one stacked model (the deeper nets' first layers
    batched with the shallower ones): every logged loss and layer gradient norm and the test
    loss of each (depth, seed) within 1e-5 (relative) of training that depth alone, rows in
    the order asked for."""
    from lnpaper.experiments.normalizers import NORMS

    cfg = {**CFG, "steps": 10}
    for norm in NORMS:
        rows, curves, lg = training.train_condition(
            data, "synthetic", norm, [3, 1, 2], arch, [0, 1], cfg, 3
        )
        assert [(r["depth"], r["seed"]) for r in rows] == [
            (3, 0),
            (3, 1),
            (1, 0),
            (1, 1),
            (2, 0),
            (2, 1),
        ]
        for depth in (3, 1, 2):
            alone, c1, lg1 = training.train_condition(
                data, "synthetic", norm, depth, arch, [0, 1], cfg, 3
            )
            mine = curves[curves["depth"] == depth].reset_index(drop=True)
            np.testing.assert_allclose(mine["loss"], c1["loss"], rtol=1e-5, err_msg=norm)
            mine_lg = lg[lg["depth"] == depth].reset_index(drop=True)
            assert mine_lg[["step", "layer", "seed"]].equals(lg1[["step", "layer", "seed"]])
            np.testing.assert_allclose(mine_lg["grad_norm"], lg1["grad_norm"], rtol=1e-5)
            rel = 1e-3 if norm == "batchnorm" else 1e-5  # see the seeds test above
            for r, a in zip([r for r in rows if r["depth"] == depth], alone):
                assert r["test_loss"] == pytest.approx(a["test_loss"], rel=rel), (norm, depth)
                assert r["grad_norm_last_layer_init"] == pytest.approx(
                    a["grad_norm_last_layer_init"], rel=1e-5
                )
        # depths do differ: a model that used the wrong depth's layers would match another
        by = {r["depth"]: r["test_loss"] for r in rows if r["seed"] == 0}
        assert by[1] != pytest.approx(by[3], rel=1e-3)


def test_stacked_depths_must_come_deepest_first():
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    with pytest.raises(ValueError, match="deepest first"):
        training.StackedMLP(4, 2, 8, [1, 2], "plain", "none", gens)


def test_divergence_is_recorded_not_raised(data):
    x_tr, y_tr, x_te, y_te = data
    bad = x_tr.clone()
    bad[:] = float("inf")
    summary, curves, _ = training.train_condition(
        (bad, y_tr, x_te, y_te), "synthetic", "none", 2, "plain", [0, 1], CFG, 3
    )
    assert all(r["diverged"] and r["diverged_step"] == 0 for r in summary)
    assert all(math.isnan(r["steps_to_threshold"]) for r in summary)


@pytest.mark.parametrize("norm", ["none", "layernorm", "batchnorm", "groupnorm", "dyt", "rmsnorm"])
def test_a_diverged_seed_leaves_the_others_as_they_would_train_alone(data, norm):
    """One training sample set to inf, met by seed 0 in its first batch and never by seed 1
    within the run: seed 0 diverges at step 0 and goes on with NaN weights, and seed 1, stacked
    with it, trains as it does alone on the clean data (every logged loss and gradient norm,
    test loss). A NaN crossing between slices (a batch norm over the stacked channels, the
    summed loss, Adam) would turn seed 1's numbers into NaN or move them."""
    from lnpaper.experiments.seeding import numpy_rng

    x_tr, y_tr, x_te, y_te = data
    cfg = {**CFG, "steps": 4}
    order = {
        s: training.batch_indices(
            numpy_rng(3, "training-batches", "synthetic", s),
            len(x_tr),
            cfg["batch_size"],
            cfg["steps"],
        )
        for s in (0, 1)
    }
    bad_sample = next(int(j) for j in order[0][0] if j not in order[1])
    bad = x_tr.clone()
    bad[bad_sample] = float("inf")
    rows, curves, lg = training.train_condition(
        (bad, y_tr, x_te, y_te), "synthetic", norm, 2, "plain", [0, 1], cfg, 3
    )
    alone, c1, lg1 = training.train_condition(data, "synthetic", norm, 2, "plain", [1], cfg, 3)
    assert rows[0]["diverged"] and rows[0]["diverged_step"] == 0
    assert curves[curves["seed"] == 0]["loss"].isna().all()
    assert not rows[1]["diverged"] and rows[1]["diverged_step"] == -1
    np.testing.assert_allclose(curves[curves["seed"] == 1]["loss"], c1["loss"], rtol=1e-5)
    np.testing.assert_allclose(lg[lg["seed"] == 1]["grad_norm"], lg1["grad_norm"], rtol=1e-5)
    rel = 1e-3 if norm == "batchnorm" else 1e-5  # see the seeds test above
    assert rows[1]["test_loss"] == pytest.approx(alone[0]["test_loss"], rel=rel)
    assert np.isfinite(rows[1]["test_accuracy"]) and np.isnan(rows[0]["test_accuracy"])


def test_steps_to_threshold_and_oscillation_follow_their_definitions():
    loss = np.array([2.0, 1.0, 0.6, 0.4, 0.45, 0.3])
    assert training.steps_to_threshold(loss, 0.5, 1) == 3
    assert training.steps_to_threshold(loss, 0.5, 2) == 3  # mean(0.6, 0.4) = 0.5
    assert training.steps_to_threshold(loss, 0.5, 3) == 4  # mean(0.6, 0.4, 0.45) < 0.5
    assert math.isnan(training.steps_to_threshold(loss, 0.1, 1))
    assert training.loss_oscillation(loss, 3) == pytest.approx(np.std([-0.2, 0.05, -0.15], ddof=1))


def test_digits_split_is_seeded_and_standardised():
    a = training.load_dataset("digits", 42, 0.2, CFG["synthetic"])
    b = training.load_dataset("digits", 42, 0.2, CFG["synthetic"])
    assert len(a[0]) + len(a[2]) == 1797 and len(a[2]) == 359
    assert torch.equal(a[0], b[0]) and torch.equal(a[3], b[3])
    assert a[0].mean().abs() < 1e-5


def test_aggregate_gives_mean_and_ci_per_condition():
    rows = [
        {
            "dataset": "d",
            "arch": "plain",
            "depth": 3,
            "norm": n,
            "seed": s,
            "test_accuracy": acc + 0.01 * s,
            "test_loss": 1.0,
            "steps_to_threshold": float(s),
            "loss_oscillation": 0.1,
            "grad_norm_first_layer_init": 1.0,
            "diverged": False,
        }
        for n, acc in (("none", 0.1), ("layernorm", 0.9))
        for s in range(4)
    ]
    agg = normalizer_aggregate(pd.DataFrame(rows))
    assert list(agg["norm"]) == ["none", "layernorm"]  # fixed order, not alphabetical
    ln = agg.set_index("norm").loc["layernorm"]
    assert ln["test_accuracy_mean"] == pytest.approx(0.915)
    assert ln["test_accuracy_ci_low"] < 0.915 < ln["test_accuracy_ci_high"]
    assert ln["n_seeds"] == 4 and ln["reached_threshold_fraction"] == 1.0


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


def test_batch_size_larger_than_the_data_is_a_config_error():
    schema = load_yaml("workflow/schemas/config.schema.yaml")
    with pytest.raises(ConfigError) as err:
        validate({"training": {"batch_size": 5000}}, schema)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("training.batch_size") and "digits" in msg
    validate({"training": {"batch_size": 1438}}, schema)  # the digits training split exactly


def test_claim_rules_on_constructed_results():
    from lnpaper.report import claims

    rows = []
    for arch, none_steps in (("plain", np.nan), ("residual", 20.0)):
        for n, steps, osc in (("none", none_steps, 0.3), ("layernorm", 40.0, 0.1)):
            for s in range(5):  # a paired sign test needs 5 agreeing seeds at 95%
                rows.append(
                    {
                        "dataset": "d",
                        "arch": arch,
                        "depth": 10,
                        "norm": n,
                        "seed": s,
                        "test_accuracy": 0.9,
                        "test_loss": 0.3,
                        "steps_to_threshold": steps,
                        "loss_oscillation": osc,
                        "diverged": False,
                        "grad_norm_first_layer_init": 1e-9
                        if (n, arch) == ("none", "plain")
                        else 0.5,
                    }
                )
    cfg = StepConfig({"training": {}}, seed=0, language="en")
    res = claims.evaluate_all({"training/summary": pd.DataFrame(rows)}, cfg).set_index("claim_id")
    # LN reaches the threshold where none never does (plain) but later where both do (residual)
    assert res.loc["4.1.4-faster-convergence", "verdict"] == "holds_only_if"
    assert "plain" in res.loc["4.1.4-faster-convergence", "condition"]
    assert res.loc["4.1.4-less-oscillation", "verdict"] == "holds_only_if"  # only residual testable
    assert res.loc["4.1.4-fewer-vanishing-exploding", "verdict"] == "holds"
