"""How a (seeds, rows, cols) stack splits into the groups LayerNorm normalizes over."""

from __future__ import annotations

import numpy as np


def groups_of(x: np.ndarray, normalized_over: str) -> np.ndarray:
    """View x (seeds, rows, cols) as (seeds, groups, group_size) along the normalized dims."""
    if normalized_over == "row":
        return x
    if normalized_over == "column":
        return np.swapaxes(x, -1, -2)
    return x.reshape(x.shape[0], 1, -1)
