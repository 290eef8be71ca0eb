"""When a change between two builds is more than noise.

Two values a and b of one quantity, with standard errors se_a and se_b, differ significantly when
|a - b| > 2 sqrt(se_a^2 + se_b^2): twice the standard error of their difference, about a 95% test
of "same expectation". A number without a standard error (a count, a theory value, a config
value) changes when the two builds print it differently at its printed decimals. Table cells
follow the same rule: "v ± u" and "[lo, hi]" carry their own standard error (their 95% half-width
over 1.96, ``report.uncertainty``), an estimate printed just before an interval column takes the
interval's, any other number is compared at its printed digits and a text cell by its text.
"""

from __future__ import annotations

import math
import re

from lnpaper.report.uncertainty import parse_printed, se_of

K = 2.0  # a change is significant beyond K combined standard errors

SAME, NOISE, SIGNIFICANT = "same", "noise", "significant"

_PM = re.compile(r"^(?P<v>\S+) ± (?P<u>\S+)$")
_CI = re.compile(r"^(?:(?P<v>\S+) )?\[(?P<lo>[^,\]]+), (?P<hi>[^\]]+)\]$")


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def at_digits(value: float, decimals: int | None) -> str:
    """``value`` as its printed decimals show it (all digits when none are known)."""
    if not _finite(value):
        return "nan" if value is None or math.isnan(value) else str(value)
    if decimals is None:
        return repr(float(value))
    if decimals >= 0:
        text = f"{value:.{decimals}f}"
    else:
        text = f"{round(value, decimals):.0f}"
    return text.lstrip("-") if float(text) == 0 else text


def classify(
    a: float,
    b: float,
    se_a: float = math.nan,
    se_b: float = math.nan,
    dec_a: int | None = None,
    dec_b: int | None = None,
) -> str:
    """``SAME`` (equal values), ``NOISE`` (different, within the rule) or ``SIGNIFICANT``. A
    value only one side has (NaN on the other) is significant. With a standard error on one side
    only (an older build), that one is used; with none, the values are compared at the finer of
    the two printed decimals."""
    na, nb = not _finite(a), not _finite(b)
    if na or nb:
        same = (na and nb and str(a) == str(b)) or a == b
        return SAME if same else SIGNIFICANT
    if a == b:
        return SAME
    ses = [s for s in (se_a, se_b) if _finite(s)]
    if ses:
        bound = K * math.sqrt(sum(s * s for s in ses))
        return SIGNIFICANT if abs(a - b) > bound else NOISE
    decs = [d for d in (dec_a, dec_b) if d is not None]
    decimals = max(decs) if decs else None
    return SIGNIFICANT if at_digits(a, decimals) != at_digits(b, decimals) else NOISE


# ---------------------------------------------------------------- table cells


def _number(text: str) -> tuple[float, int] | None:
    """(value, decimals) of a cell that is exactly one printed number, else None."""
    found = parse_printed(text)
    if found is None:
        return None
    plain = re.fullmatch(r"[−-]?(?:\d+(?:\.\d+)?(?:·10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?|10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    return found if plain else None


def parse_cell(text: str) -> tuple[float, float, int | None] | None:
    """(value, standard error, decimals) of a numeric cell: "v ± u", "[lo, hi]" (its midpoint),
    "v [lo, hi]" or a plain number (standard error NaN); None for a text cell."""
    text = text.strip()
    m = _PM.match(text)
    if m:
        v, u = _number(m.group("v")), _number(m.group("u"))
        if v and u:
            return v[0], se_of(u[0]), v[1]
    m = _CI.match(text)
    if m:
        lo, hi = _number(m.group("lo").strip()), _number(m.group("hi").strip())
        if lo and hi:
            v = _number(m.group("v")) if m.group("v") else None
            value = v[0] if v else (lo[0] + hi[0]) / 2
            return value, se_of((hi[0] - lo[0]) / 2), max(lo[1], hi[1])
    found = _number(text)
    return (found[0], math.nan, found[1]) if found else None


def row_se(cells: list[str]) -> list[float]:
    """Per cell of a table row, the standard error it is judged with: its own ("v ± u",
    "[lo, hi]") or, for an estimate just before an interval column, the interval's; else NaN."""
    parsed = [parse_cell(c) for c in cells]
    out = [p[1] if p else math.nan for p in parsed]
    for j, p in enumerate(parsed):
        is_interval = p is not None and _CI.match(cells[j].strip()) is not None
        if is_interval and j > 0 and parsed[j - 1] is not None and not _finite(out[j - 1]):
            out[j - 1] = p[1]
    return out


def cell_change(old: str, new: str, se_old: float = math.nan, se_new: float = math.nan) -> str:
    """``SAME``, ``NOISE`` or ``SIGNIFICANT`` for one table cell (its row's standard errors, see
    ``row_se``, where the cell has none of its own)."""
    if old == new:
        return SAME
    a, b = parse_cell(old), parse_cell(new)
    if a is None or b is None:
        return SIGNIFICANT
    sa = a[1] if _finite(a[1]) else se_old
    sb = b[1] if _finite(b[1]) else se_new
    verdict = classify(a[0], b[0], sa, sb, a[2], b[2])
    return NOISE if verdict == SAME else verdict  # same value, other digits: noise
