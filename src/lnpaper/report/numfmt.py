"""How every number the paper prints is written, in one place: the tables (Markdown, LaTeX), the
quoted numbers (``numbers.tex`` / ``numbers.json``, hence the HTML, docx and PDF paper and the
LaTeX bundle) and the claims text all call these functions.

- An estimate with a 95% interval prints its half-width u to two significant digits when u's
  leading digit (u rounded to one significant digit) is 1 or 2, else to one, and the estimate to
  the same decimal place (``decimals_for``): ``0.930 ± 0.024``, ``2.206 ± 0.009``,
  ``[0.906, 0.954]``. A half-width at float rounding level (an exact quantity) sets no digits.
- A value without an interval prints with 4 significant digits, trailing zeros dropped
  (``fmt``); a quoted number that is no table cell prints the digits it declares
  (``quoted_text``), and one that is a table cell prints as the table prints it.
- Scientific notation is ``1.2·10⁻⁷`` (never ``1.2e-07``), ``10⁻⁵`` when the mantissa is 1; the
  tables use it below 1e-3 and from 1e6 up.
- Negative numbers carry U+2212 (−); a value that rounds to zero prints without a sign.
- NaN prints ``–``, infinities ``∞`` / ``−∞``, booleans ``✓`` / ``✗``.

``tex_of`` turns any of these texts into TeX (math where it needs math).
"""

from __future__ import annotations

import math
import re

import numpy as np

MINUS = "\u2212"
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
SIG_DIGITS = 4  # significant digits of a value without an interval
SCI_BELOW, SCI_FROM = 1e-3, 1e6  # a table writes values outside this range as m·10ⁿ
# a half-width this small is float rounding of an exact quantity (e.g. orthogonal products)
ROUNDING_HALF_WIDTH = 1e-9


def signed(text: str) -> str:
    """A number printed by Python with the minus sign as text writes it; ``-0.00`` -> ``0.00``."""
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", MINUS)


def sci_text(value: float, decimals: int, strip: bool = False) -> str:
    """``1.2·10⁻⁷`` with ``decimals`` decimals in the mantissa (trailing zeros dropped with
    ``strip``); ``10⁻⁵`` for a mantissa of 1; the mantissa alone for an exponent of 0."""
    mant, exp = f"{value:.{max(decimals, 0)}e}".split("e")
    if strip and "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    mant = signed(mant)
    if int(exp) == 0:
        return mant
    power = "10" + str(int(exp)).translate(SUPERSCRIPT)
    return power if mant == "1" else f"{mant}·{power}"


def special(value) -> str | None:
    """The text of a value that is no finite number (None, NaN, ±inf, a boolean), else None."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else "✗"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else f"{MINUS}∞"
    return None


def fmt(value, digits: int = SIG_DIGITS) -> str:
    """A table cell without an interval: ``digits`` significant digits, locale-free."""
    shown = special(value)
    if shown is not None:
        return shown
    if isinstance(value, (int, np.integer)):
        return signed(str(int(value)))
    if not isinstance(value, (float, np.floating)):
        return str(value)
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e6:
        return signed(str(int(value)))
    if abs(value) < SCI_BELOW or abs(value) >= SCI_FROM:
        return sci_text(float(value), digits - 1, strip=True)
    text = f"{value:.{digits}g}"
    return sci_text(float(value), digits - 1, strip=True) if "e" in text else signed(text)


def decimals_for(half_width) -> int | None:
    """Decimal places that show an interval's half-width to two significant digits when its
    leading digit is 1 or 2, else one (0.0072 -> 3, 0.024 -> 3, 0.04 -> 2, 0.0096 -> 3: it
    rounds to 0.010). None for no interval or one of zero width up to float rounding."""
    if isinstance(half_width, bool) or not isinstance(half_width, (int, float, np.floating)):
        return None
    if not math.isfinite(half_width) or half_width <= ROUNDING_HALF_WIDTH:
        return None
    mant, exp = f"{half_width:.0e}".split("e")  # rounded to one significant digit
    return max(0, -int(exp) + (1 if int(mant) <= 2 else 0))


def fmt_fixed(value, decimals: int | None, digits: int = SIG_DIGITS) -> str:
    """``value`` with a fixed number of decimals (``fmt`` when none is known)."""
    if decimals is None or not isinstance(value, (int, float, np.floating, np.integer)):
        return fmt(value, digits)
    if isinstance(value, (bool, np.bool_)) or not math.isfinite(float(value)):
        return fmt(value, digits)
    v = float(value)
    if v != 0 and abs(v) < SCI_BELOW:
        # as m·10ⁿ like every small number of a table, with the digits ``decimals`` resolves
        # (1.6e-8 at 9 decimals -> 1.6·10⁻⁸); a value those decimals round to 0 stays fixed
        mantissa_decimals = decimals + math.floor(math.log10(abs(v)))
        if mantissa_decimals >= 0:
            return sci_text(v, mantissa_decimals)
    return signed(f"{v:.{decimals}f}")


def half_width(lo: float, hi: float) -> float:
    return (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else float("nan")


def pm_text(value: float, u: float, fallback: str) -> str:
    """``value ± u`` at the decimals ``u`` sets; ``fallback`` when u sets none."""
    dec = decimals_for(u)
    if dec is None or not math.isfinite(value):
        return fallback
    return f"{fmt_fixed(value, dec)} ± {fmt_fixed(u, dec)}"


# an interval whose two sides differ by more than this fraction of its half-width is printed as
# "value [lo, hi]": "value ± h" would misstate one side
ASYMMETRY = 0.2


def estimate_text(value: float, lo: float, hi: float, fallback: str) -> str:
    """``value ± h`` for an interval about symmetric around the value, ``value [lo, hi]`` for an
    asymmetric one, at the decimals the half-width sets; ``fallback`` when it sets none."""
    u = (hi - lo) / 2.0
    dec = decimals_for(u)
    if dec is None or not all(math.isfinite(x) for x in (value, lo, hi)):
        return fallback
    if abs((hi - value) - (value - lo)) <= ASYMMETRY * u:
        return pm_text(value, u, fallback)
    return f"{fmt_fixed(value, dec)} {fmt_ci(lo, hi, dec)}"


def fmt_pm(mean: float, lo: float, hi: float) -> str:
    """``1.691 ± 0.007``: the estimate and the half-width of its interval, digits following it."""
    return pm_text(mean, half_width(lo, hi), fmt(mean))


def fmt_ci(lo: float, hi: float, decimals: int | None = None) -> str:
    """``[1.684, 1.698]`` with digits that resolve the interval's width; a single dash where
    there is no interval (both bounds missing), as for any empty cell."""
    if not (np.isfinite(float(lo)) or np.isfinite(float(hi))):
        return fmt_fixed(float("nan"), 0)
    if decimals is None:
        decimals = decimals_for(half_width(lo, hi))
    return f"[{fmt_fixed(lo, decimals)}, {fmt_fixed(hi, decimals)}]"


def quoted_text(value: float, style: str, digits: int) -> str:
    """A quoted number that is no table cell: ``int``, ``sci`` (``digits`` mantissa decimals,
    an exact 0 stays ``0``) or ``fixed`` (``digits`` decimals)."""
    shown = special(value)
    if shown is not None:
        return shown
    if style == "int":
        return signed(str(int(round(value))))
    if style == "sci":
        return "0" if value == 0 else sci_text(value, digits)
    return fmt_fixed(value, digits)


def tex_of(text: str) -> str:
    """The TeX of a printed number: ``−`` ``·10⁻⁸`` ``±`` ``∞`` as math in ``\\ensuremath``."""
    if text == "–":
        return "--"
    tex = re.sub(
        r"10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: f"10^{{{m.group(1).translate(PLAIN_DIGITS)}}}", text
    )
    tex = tex.replace("·", r"\times ").replace("±", r"\pm").replace("∞", r"\infty")
    tex = tex.replace(MINUS, "-")
    return tex if tex == text and "-" not in tex else rf"\ensuremath{{{tex}}}"
