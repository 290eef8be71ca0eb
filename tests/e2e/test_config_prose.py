"""The paper of non-default configs, built in process (lnpaper.tools.config_sweep): its prose
states the config's sets and values, prints no placeholder dash, keeps the sentence variant each
verdict or comparison calls for, and says "not measured" of what the config does not run."""

from __future__ import annotations

import math
import re

import pytest

from lnpaper.manuscript.conditions import list_text, order
from lnpaper.report import claims  # noqa: F401  (registers the rules)
from lnpaper.tools import config_space, config_sweep

END = {"en": "# References", "vi": "# Tài liệu tham khảo"}

CONFIGS = {
    # a gamma/beta grid without the article's gamma = 3, beta = 5
    "affine-grid": {
        "language": "en",
        "affine.gamma": [1.0, 2.0, 4.0],
        "affine.beta": [0.0, 1.5],
    },
    # other matrix sizes, scales and group sizes, in Vietnamese
    "sizes-scales": {
        "language": "vi",
        "matmul.sizes": [6],
        "matmul.scales": [0.25, 0.75, 3.0],
        "layernorm_stats.group_sizes": [4, 6],
        "layernorm_stats.normalized_over": ["row", "column"],
    },
    # training reduced to fewer normalizers and depths, in English
    "training-reduced-en": {
        "language": "en",
        "training.norms": ["none", "rmsnorm"],
        "training.depths": [3],
        "training.archs": ["plain"],
    },
    # training with LayerNorm and BatchNorm at two depths, without the normalization-free net
    "training-two-depths-vi": {
        "language": "vi",
        "training.norms": ["layernorm", "batchnorm"],
        "training.depths": [2, 3],
        "matmul.scales": [1.0],
    },
}
LISTED = {  # list -> the experiment whose section it reads
    "AffineGammas": "affine",
    "AffineBetas": "affine",
    "MatmulScales": "matmul",
    "MatmulSizes": "matmul",
    "MatmulDists": "matmul",
    "LnGroupSizes": "layernorm_stats",
    "TrainDepths": "training",
    "TrainNorms": "training",
    "TrainArchs": "training",
    "TrainDatasets": "training",
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def built(request):
    import warnings

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops only add contention on a shared machine
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    cfg = config_sweep.variant(config_space.micro_config(), **CONFIGS[request.param])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return config_sweep.build_in_process(cfg, figures=False)


def main_prose(built) -> str:
    """The paper's running text before the bibliography (tables and captions left out)."""
    paper = built.paper
    return config_sweep.prose(paper[: paper.index(END[built.config["language"]])])


def test_no_placeholder_dash_in_prose(built):
    prose = main_prose(built)
    assert "–" not in prose
    assert "num-missing" not in built.paper
    assert "{{" not in built.paper


def test_every_set_the_prose_states_is_the_configs(built):
    cfg, paper = built.config, built.paper
    for name, section in LISTED.items():
        if cfg[section].get("enabled", True):
            assert list_text(name, cfg, cfg["language"]) in paper, name
    gammas = ", ".join(f"{g:g}" for g in cfg["affine"]["gamma"])
    assert f"\\gamma \\in \\{{{gammas}\\}}" in paper
    # no set typed in the template survives: the default grid is not this build's
    if cfg["affine"]["gamma"] != [1.0, 2.0, 3.0]:
        assert "\\{1,2,3\\}" not in paper and "\\{1, 2, 3\\}" not in paper


def test_a_claim_about_a_value_the_config_does_not_run_is_not_measured(built):
    verdict = built.claims.set_index("claim_id")["verdict"]
    grid = built.config["affine"]
    has_example = 3.0 in grid["gamma"] and 5.0 in grid["beta"]
    assert (verdict["5.3-gamma3-beta5"] == "not_measured") == (not has_example)
    said = {"en": "is not in this build's grid", "vi": "không nằm trong lưới"}[
        built.config["language"]
    ]
    assert (said in built.paper) == (not has_example)
    for row in built.claims.itertuples():  # a firm verdict is drawn from measured data only
        if row.verdict in ("holds", "fails", "holds_only_if"):
            # a missing number prints as a lone "–" or "nan"; "NaN/inf output" is a finding
            tokens = re.split(r"[\s,;:()\[\]]+", str(row.measured).lower())
            assert "–" not in tokens and "nan" not in tokens, (row.claim_id, row.measured)


# the phrase of each outcome of one comparison, read independently from the training table
DEEP_LN = {
    "en": {
        "above": "LayerNorm still helps",
        "undecided": "do not separate LayerNorm",
        "below": "reaches a lower accuracy with LayerNorm",
    },
    "vi": {
        "above": "LayerNorm vẫn giúp",
        "undecided": "không tách được LayerNorm",
        "below": "có độ chính xác thấp hơn với LayerNorm",
    },
}


def test_the_bound_training_sentence_agrees_with_the_measured_intervals(built):
    t = built.tables["normalizer_comparison"]
    from lnpaper.report.summaries import reference_dataset

    rows = t[(t["dataset"] == reference_dataset(t)) & (t["arch"] == "plain")]
    rows = rows[rows["depth"] == rows["depth"].max()].set_index("norm")

    def interval(norm):
        if norm not in rows.index:
            return (math.nan, math.nan)
        r = rows.loc[norm]
        return (float(r["test_accuracy_ci_low"]), float(r["test_accuracy_ci_high"]))

    got = order(interval("layernorm"), interval("none"))
    phrases = DEEP_LN[built.config["language"]]
    prose = " ".join(main_prose(built).split())
    for outcome, phrase in phrases.items():
        assert (phrase in prose) == (outcome == got), (outcome, got)
    if got == "not_measured":
        assert not any(re.search(p, prose) for p in phrases.values())
