"""Declaration of the training experiment (computation: ``training.py``): one job per dataset
and normalizer (rule ``training_part``, unit e.g. ``digits-layernorm``: 12 jobs by default, none
above about 8 % of the build's CPU), joined by rule ``training`` (``training_join.merge``, which
imports no torch). Depths and seeds of one unit stay one job: they train as one stacked model,
and stacking changes the rounding."""

from __future__ import annotations

from lnpaper.experiments.spec import (
    ConfigSpace,
    Experiment,
    Split,
    at_most,
    enabled_section,
    width_not_divided,
)

CPU_S_PER_FLOP = 154.0 / 4.53e12  # fitted to the default config's compute time
DIGITS_SAMPLES = 1797  # scikit-learn's load_digits (fixed; not loaded here to keep start-up fast)
DIGITS_CLASSES = 10


def cpu_seconds(tr: dict) -> float:
    """Forward and backward (6 flops per weight and sample) of every run's square layers."""
    runs = (
        len(tr.get("datasets", []))
        * len(tr.get("archs", []))
        * len(tr.get("norms", []))
        * tr.get("n_seeds", 0)
    )
    width = tr.get("width", 0)
    flops = 6 * runs * tr.get("steps", 0) * tr.get("batch_size", 0) * width**2
    return CPU_S_PER_FLOP * flops * sum(tr.get("depths", []))


def memory_bytes(tr: dict, data_entries: int) -> int:
    """One unit's job (the part: one dataset and normalizer): its data, weights and activations."""
    syn = tr.get("synthetic", {})
    samples = max(DIGITS_SAMPLES * 64, syn.get("n_samples", 0) * syn.get("n_features", 0))
    width, depth = tr.get("width", 0), max(tr.get("depths", [0]) or [0])
    acts = tr.get("batch_size", 0) * width * depth * 8 * 4  # forward + backward, a few copies
    return 16 * samples + 16 * width * width * depth + acts


def batch_fits_data(cfg: dict) -> str | None:
    tr = cfg.get("training", {})
    if not tr or "batch_size" not in tr:
        return None
    sizes = {"digits": DIGITS_SAMPLES, "synthetic": tr.get("synthetic", {}).get("n_samples", 0)}
    for dataset in tr.get("datasets", []):
        n_train = sizes[dataset] - int(round(tr["test_fraction"] * sizes[dataset]))
        if tr["batch_size"] > n_train:
            return (
                f"training.batch_size: got {tr['batch_size']}; allowed: integer <= {n_train}, "
                f"the training split of dataset {dataset}"
            )
    return None


def windows_fit(cfg: dict) -> str | None:
    tr = cfg.get("training", {})
    for key in ("oscillation_window", "smooth_window"):
        if key in tr and "steps" in tr and tr[key] >= tr["steps"]:
            return (
                f"training.{key}: got {tr[key]}; allowed: integer < training.steps ({tr['steps']})"
            )
    return None


def groups_divide_width(cfg: dict) -> str | None:
    return width_not_divided("training", cfg.get("training", {}))


def every_class_in_test_split(cfg: dict) -> str | None:
    tr = enabled_section(cfg, "training")
    if "test_fraction" not in tr:
        return None
    syn = tr.get("synthetic", {})
    data = {
        "digits": (DIGITS_SAMPLES, DIGITS_CLASSES),
        "synthetic": (syn.get("n_samples", 0), syn.get("n_classes", 1)),
    }
    for dataset in tr.get("datasets", []):
        n, classes = data[dataset]
        n_test = int(round(tr["test_fraction"] * n))
        if n_test < classes:
            return (
                f"training.test_fraction: got {tr['test_fraction']}, {n_test} test samples of "
                f"dataset {dataset} for {classes} classes; allowed: >= {classes / n:.4g} (at least "
                "1 test sample per class)"
            )
    return None


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    # the nets and their normalizers
    **at_most(width=12, groupnorm_groups=4, dyt_alpha=3),
    # the runs: seeds, steps, batches and the windows the loss curves are read with
    **at_most(n_seeds=3, steps=10, batch_size=16, log_every=4, loss_threshold=5),
    **at_most(smooth_window=3, oscillation_window=4),
    "depths": {"items.maximum": 4, "maxItems": 2},
    "norms": {"maxItems": 4},
    "test_fraction": {"minimum": 0.001, "maximum": 0.5},
    "lr": {"minimum": 0.0001, "maximum": 1},
    "synthetic.n_samples": {"maximum": 150},
    "synthetic.n_features": {"maximum": 8},
    "synthetic.n_classes": {"maximum": 5},
    "synthetic.cluster_std": {"maximum": 3},
}
MICRO = dict(
    datasets=["synthetic"],
    depths=[2],
    norms=["none", "layernorm"],
    width=8,
    n_seeds=2,
    steps=6,
    batch_size=8,
    log_every=2,
    smooth_window=2,
    oscillation_window=3,
    groupnorm_groups=1,
    synthetic={"n_samples": 60, "n_features": 4, "n_classes": 3},
)

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "training-test-fraction-tiny": {"training.test_fraction": 0.002},
    "training-no-none": {"training.norms": ["layernorm", "batchnorm"]},
    "training-synthetic-only": {"training.datasets": ["synthetic"]},
    "training-depths-four": {"training.depths": [2, 3, 4, 5]},
    "training-norms-all": {
        "training.norms": ["none", "layernorm", "rmsnorm", "batchnorm", "groupnorm", "dyt"]
    },
}


EXPERIMENT = Experiment(
    id="training",
    outputs=("summary", "curves", "layer_grads"),
    uses_device=True,
    split=Split(
        key=("datasets", "norms"),
        wildcard="unit",
        join="merge",
        join_module="lnpaper.experiments.training_join",
    ),
    cpu_seconds=cpu_seconds,
    memory_bytes=memory_bytes,
    checks=(batch_fits_data, windows_fit, groups_divide_width, every_class_in_test_split),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
