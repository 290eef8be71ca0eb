"""Per-condition random generators derived from the base seed and the condition's identity.

A condition's draws depend only on (base seed, identity), never on which other conditions run,
in which order, or on how many cores: no global RNG state is touched anywhere.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def derive_seed(base_seed: int, *identity: object) -> int:
    """A 63-bit seed from the base seed and a condition identity (stable across runs and hosts)."""
    key = json.dumps([int(base_seed), *identity], sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") >> 1


def numpy_rng(base_seed: int, *identity: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(base_seed, *identity))


def torch_generator(base_seed: int, *identity: object, device: str = "cpu"):
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(base_seed, *identity))
    return gen
