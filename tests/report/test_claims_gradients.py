"""The vanishing / exploding gradient claim on hand-built frames: tested on the gradients of
training (every logged step), per condition, where the unnormalized net leaves the band."""

import pytest
from test_claims_training import FAST

from claims_kit import curves, training, verdict


@pytest.mark.parametrize(
    "grads,want",
    [
        ({("plain", 20): (0.1, 1e-9)}, "holds"),
        ({("plain", 20): (1e-9, 1e-9)}, "fails"),
        ({("plain", 20): (0.1, 1e4)}, "holds"),  # exploding counts as well
        ({("plain", 20): (0.1, 1e-9), ("plain", 50): (1e-9, 1e-9)}, "holds_only_if"),
        ({("plain", 20): (0.1, 0.1)}, "not_measured"),  # nothing to reduce
        # in the band at initialisation, vanishing during training: the training decides
        ({("plain", 20): ([0.1, 1e-9, 1e-9, 1e-9, 1e-9], 1e-9)}, "fails"),
        ({("plain", 20): (0.1, [0.1, 1e-9, 1e-9, 1e-9, 1e-9])}, "holds"),
    ],
)
def test_vanishing_gradients_during_training(grads, want):
    frames = {
        "training/summary": training({k: FAST for k in grads}),
        "training/curves": curves(grads),
    }
    row = verdict("4.1.4-fewer-vanishing-exploding", frames)
    assert row["verdict"] == want
    assert "during training" in row["theory"]
    if want == "holds_only_if":
        assert "fails in: digits (sklearn)/plain MLP/depth 50" in row["condition"]


def test_vanishing_gradients_report_a_layernorm_net_that_does_not_learn():
    s = training({("plain", 20): FAST})
    s.loc[s["norm"] == "layernorm", "test_accuracy"] = 0.1
    frames = {"training/summary": s, "training/curves": curves({("plain", 20): (0.1, 1e-9)})}
    row = verdict("4.1.4-fewer-vanishing-exploding", frames)
    assert row["verdict"] == "holds"
    assert "yet plain LN nets of depth 20 still fail to train" in row["condition"]
