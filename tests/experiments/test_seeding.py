import numpy as np
import torch

from lnpaper.experiments.seeding import derive_seed, numpy_rng, torch_generator


def test_same_identity_same_stream():
    a = torch.randn(5, generator=torch_generator(42, "matmul", "normal", 30, 3))
    b = torch.randn(5, generator=torch_generator(42, "matmul", "normal", 30, 3))
    assert torch.equal(a, b)


def test_identity_and_base_seed_change_the_stream():
    assert derive_seed(42, "x", 1) != derive_seed(42, "x", 2)
    assert derive_seed(42, "x", 1) != derive_seed(43, "x", 1)
    assert not np.array_equal(numpy_rng(42, "a").random(4), numpy_rng(42, "b").random(4))


def test_a_condition_does_not_depend_on_which_others_are_configured():
    from lnpaper.experiments.data import generate_matrices, matrices_of

    few = generate_matrices(["3x10"], 3, 42)
    many = generate_matrices(["30x30", "3x10"], 5, 42)
    np.testing.assert_array_equal(matrices_of(few, "3x10"), matrices_of(many, "3x10")[:3])
