"""Closed-form predictions the experiments are checked against (sources cited at each function)."""

from __future__ import annotations

import math

from scipy.special import digamma, gammaln


def lyapunov_top(n: int) -> float:
    """Top Lyapunov exponent of n x n iid N(0,1) matrices: (ln 2 + digamma(n/2)) / 2.

    Newman 1986 (Commun. Math. Phys. 103:121); Cohen & Newman 1984 (Ann. Probab. 12:283).
    """
    return 0.5 * (math.log(2.0) + float(digamma(n / 2.0)))


def b_entry_std(b_dist: str, n: int) -> float | None:
    """Entry std of B for the Gaussian ensembles; None for Haar orthogonal matrices."""
    if b_dist == "normal":
        return 1.0
    if b_dist == "scaled_normal":
        return 1.0 / math.sqrt(n)
    if b_dist == "orthogonal":
        return None
    raise ValueError(f"unknown b_dist {b_dist!r}")


def growth_rate(b_dist: str, n: int, scale: float) -> float:
    """Almost-sure growth rate of ln||A_k|| per step for A_k = s A_{k-1} B_k."""
    b = b_entry_std(b_dist, n)
    if b is None:  # orthogonal B preserves the Frobenius norm exactly
        return math.log(scale)
    return math.log(scale) + math.log(b) + lyapunov_top(n)


def critical_scale(b_dist: str, n: int) -> float:
    """The scale s* at which the typical growth rate is zero."""
    return math.exp(-growth_rate(b_dist, n, 1.0))


def mean_square_growth(b_dist: str, n: int, scale: float) -> float:
    """Growth factor of sqrt(E||A_k||^2) per step: s * b * sqrt(n) (Gaussian), s (orthogonal)."""
    b = b_entry_std(b_dist, n)
    return scale if b is None else scale * b * math.sqrt(n)


def pearson_r_groupwise(k: int) -> float:
    """Pearson r between iid Gaussian input and its LayerNorm over groups of size k.

    r = E[biased sample std of k N(0,1) values] = sqrt(2/k) Gamma(k/2) / Gamma((k-1)/2).
    """
    if k < 2:
        raise ValueError("group size must be >= 2")
    return math.sqrt(2.0 / k) * math.exp(gammaln(k / 2.0) - gammaln((k - 1) / 2.0))


def unbiased_std_after_ln(k: int, var: float = 1.0, eps: float = 0.0) -> float:
    """torch.std (unbiased) of a LayerNorm-ed group of size k: sqrt(k/(k-1)) * sqrt(v/(v+eps))."""
    return math.sqrt(k / (k - 1.0)) * math.sqrt(var / (var + eps))


def ln_output_std(sigma: float, eps: float, formula: str) -> float:
    """Biased std of the normalized output for input std sigma under each eps placement."""
    if formula == "pytorch":  # (x - mu) / sqrt(var + eps)
        return sigma / math.sqrt(sigma * sigma + eps)
    if formula == "paper":  # (x - mu) / (sigma + eps), section 3.1 of the paper
        return sigma / (sigma + eps)
    raise ValueError(f"unknown formula {formula!r}")


def pearson_r_finite_groups(k: int, groups: int) -> float:
    """E[r] between N = groups * k iid Gaussian entries and their LayerNorm over groups of k.

    With per-group biased std s_g and total (biased) std S of all entries, r = mean_g(s_g) / S.
    Writing k s_g^2 = q_g ~ chi2_{k-1}, T = sum q_g and U = chi2_{groups-1} the spread of the
    group means (all independent), the shares q_g / T are Dirichlet and independent of T, and
    T / (T + U) ~ Beta(groups (k-1)/2, (groups-1)/2) is independent of both; the expectation
    factorises into Gamma-function ratios:
        E[r] = sqrt(groups) * Gamma(k/2) / Gamma((k-1)/2) * Gamma((N-1)/2) / Gamma(N/2).
    For groups -> infinity this tends to ``pearson_r_groupwise(k)`` (eps neglected).
    """
    if k < 2 or groups < 1:
        raise ValueError("need k >= 2 and at least one group")
    n = groups * k
    return math.sqrt(groups) * math.exp(
        gammaln(k / 2.0) - gammaln((k - 1) / 2.0) + gammaln((n - 1) / 2.0) - gammaln(n / 2.0)
    )


def ln_track_norm(b_dist: str, n: int, scale: float, eps: float) -> float:
    """Frobenius norm of LN(A_k) in the LayerNorm track A_k = LN(s A_{k-1} B_k), n x n, rows
    normalized, at its fixed point: sqrt(rows*cols*v/(v+eps)), v the rows' pre-LN variance.

    A row a of LN output has variance r = v/(v+eps); the next row a B has biased variance
    v = c r with c = s^2 n b^2 (n-1)/n for Gaussian B with entry std b (s^2 (n-1)/n for Haar
    orthogonal B, which keeps the row's norm). The fixed point of v = c v/(v+eps) is
    v = c - eps, so r = 1 - eps/c, and 0 when c <= eps: the track then decays to zero.
    """
    b = b_entry_std(b_dist, n)
    c = scale**2 * (n * b**2 if b is not None else 1.0) * (n - 1) / n
    return n * math.sqrt(max(0.0, 1.0 - eps / c))
