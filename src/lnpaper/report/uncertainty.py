"""The uncertainty a quoted number keeps beside its value: the half-width of its 95% interval, the
standard error that interval implies, and the decimals it is printed with.

A number quoted as "value ± u" carries u, the half-width of the 95% interval its table reports
(a t or bootstrap interval over seeds). Its standard error is taken as u / 1.96, the normal
approximation: the comparison of two builds (``manuscript.noise``) needs a standard error, and
for the seed counts here the t quantile (2.0-2.8) would make it smaller still, so this choice
calls fewer changes noise, never more. A number without an interval has no standard error
(NaN); two builds' values of it agree when they print the same at its printed decimals.

The printed decimals are those of the text's first number on an absolute scale: "0.86 ± 0.06"
-> 2, "1.6·10⁻⁸" -> 9 (one mantissa decimal at 10⁻⁸), "42" -> 0, "–" -> None.
"""

from __future__ import annotations

import math
import re

Z95 = 1.96  # a 95% interval is +-1.96 standard errors (normal approximation)

_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
# the first number of a printed text: 0.86, −3, 1.6·10⁻⁸, 10⁻⁵
_POWER = re.compile(r"(?P<sign>[−-]?)10(?P<exp>[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_PRINTED = re.compile(r"(?P<mant>[−-]?\d+(?:\.(?P<frac>\d+))?)(?:·10(?P<exp>[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?")


def se_of(half_width: float) -> float:
    """Standard error of a value whose 95% interval has this half-width (NaN without one)."""
    if half_width is None or not math.isfinite(half_width) or half_width < 0:
        return math.nan
    return float(half_width) / Z95


def parse_printed(text: str) -> tuple[float, int] | None:
    """(value, decimals) of the first number a printed text shows, decimals on the absolute
    scale (negative for a rounding to tens); None for a text that shows no number ("–", "∞")."""
    text = str(text).strip()
    power = _POWER.match(text)
    if power:  # 10⁻⁵: a mantissa of 1, no decimals of its own
        exp = int(power.group("exp").translate(_SUPERSCRIPT))
        return (-1.0 if power.group("sign") else 1.0) * 10.0**exp, -exp
    m = _PRINTED.search(text)
    if m is None:
        return None
    exp = int(m.group("exp").translate(_SUPERSCRIPT)) if m.group("exp") else 0
    decimals = len(m.group("frac") or "") - exp
    return float(m.group("mant").replace("−", "-")) * 10.0**exp, decimals


def printed_decimals(text: str) -> int | None:
    """The decimals a number is printed with (see the module docstring); None for no number."""
    found = parse_printed(text)
    return None if found is None else found[1]


def columns(half_width: float, text: str) -> dict:
    """The uncertainty columns of one quoted number: ``ci_half_width`` (NaN without an
    interval), ``se`` and ``decimals`` (a float column: NaN when its text shows no number)."""
    u = float(half_width) if half_width is not None else math.nan
    decimals = printed_decimals(text)
    return {
        "ci_half_width": u if math.isfinite(u) else math.nan,
        "se": se_of(u),
        "decimals": math.nan if decimals is None else float(decimals),
    }


def se_metrics(numbers) -> dict[str, float]:
    """``se.<Name>`` -> standard error of every quoted number that has one: the numbers step
    logs them as MLflow metrics beside its numbers.parquet artifact."""
    return {f"se.{r.name}": float(r.se) for r in numbers.itertuples() if math.isfinite(float(r.se))}
