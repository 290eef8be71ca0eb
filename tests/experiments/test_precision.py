import pytest
import torch

from lnpaper.experiments import precision


@pytest.fixture(scope="module")
def errors():
    return precision.measure(
        [0.0, 1e3, 1e5],
        ["float32", "bfloat16", "float16"],
        rows=32,
        width=256,
        eps=1e-5,
        base_seed=3,
    )


def err(df, dtype, method, offset, source="total"):
    row = df[
        (df.dtype == dtype)
        & (df.method == method)
        & (df.offset == offset)
        & (df.error_source == source)
    ]
    assert len(row) == 1
    return float(row["max_abs_error"].iloc[0])


def test_all_methods_agree_in_float64():
    x = torch.randn(16, 100, dtype=torch.float64) * 3 + 7
    ref = precision.ln_torch(x, 1e-5)
    for name, fn in precision.LN_FUNCTIONS.items():
        assert (fn(x, 1e-5) - ref).abs().max() < 1e-10, name


def test_one_pass_variance_cancels_catastrophically_in_float32(errors):
    assert err(errors, "float32", "torch", 0.0) < 1e-5
    assert err(errors, "float32", "naive", 1e3) > 100 * err(errors, "float32", "two_pass", 1e3)
    assert err(errors, "float32", "two_pass", 1e3) < 1e-3


def test_reduced_precision_error_is_mostly_input_rounding_for_torch(errors):
    for dtype in ("bfloat16", "float16"):
        total = err(errors, dtype, "torch", 1e3)
        rounding = err(errors, dtype, "torch", 1e3, "input_rounding")
        kernel = err(errors, dtype, "torch", 1e3, "kernel")
        assert kernel < 0.1 * rounding  # torch accumulates in float32
        assert total == pytest.approx(rounding, rel=0.2)


def test_float16_overflow_is_recorded_not_dropped(errors):
    row = errors[(errors.dtype == "float16") & (errors.offset == 1e5) & (errors.method == "torch")]
    assert len(row) == 3 and row["input_overflow"].all() and not row["finite_output"].any()
    assert row["max_abs_error"].isna().all()
