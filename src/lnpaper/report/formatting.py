"""Number formatting and table rendering (Markdown, booktabs LaTeX), with TeX escaping."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from lnpaper.pipeline import io
from lnpaper.report.labels import label

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# a value this small against the largest of its column is rounding noise of a quantity that is
# zero by construction (e.g. ln s + λ₁ at s = s*): it prints 0, never 1.1e-12
NOISE = 1e-9


def _sci(value: float, digits: int) -> str:
    """``1.2·10⁻⁷``: scientific notation as the text writes it, never ``1.2e-07``."""
    mantissa, exp = f"{value:.{max(digits - 1, 0)}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}·10{str(int(exp)).translate(SUPERSCRIPT)}"


def fmt(value, digits: int = 4) -> str:
    """Fixed, locale-free formatting: same value, same string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else "✗"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value == 0:
            return "0"
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        if abs(value) < 1e-4 or abs(value) >= 1e6:
            return _sci(float(value), digits)
        return f"{value:.{digits}g}"
    return str(value)


def decimals_for(half_width: float) -> int | None:
    """Decimal places that show an uncertainty of ``half_width`` with one significant digit (two
    when it starts with 1): the digits of an estimate follow its uncertainty (0.0072 -> 3)."""
    if not (isinstance(half_width, (int, float)) and math.isfinite(half_width)) or half_width <= 0:
        return None
    exp = math.floor(math.log10(half_width))
    lead = int(half_width / 10**exp + 1e-9)  # leading digit
    if lead != 1 and round(half_width / 10**exp) >= 10:  # 0.0096 rounds to 0.01
        exp, lead = exp + 1, 1
    return max(0, -exp + (1 if lead == 1 else 0))


def fmt_fixed(value, decimals: int | None, digits: int = 4) -> str:
    """``value`` with a fixed number of decimals (``fmt`` when none is known)."""
    if decimals is None or not isinstance(value, (int, float, np.floating, np.integer)):
        return fmt(value, digits)
    if isinstance(value, (bool, np.bool_)) or not math.isfinite(float(value)):
        return fmt(value, digits)
    text = f"{float(value):.{decimals}f}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def fmt_pm(mean: float, lo: float, hi: float) -> str:
    """``1.691 ± 0.007``: the estimate and the half-width of its interval, digits following it."""
    half = (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else float("nan")
    dec = decimals_for(half)
    if dec is None:
        return fmt(mean)
    return f"{fmt_fixed(mean, dec)} ± {fmt_fixed(half, dec)}"


def fmt_ci(lo: float, hi: float, decimals: int | None = None) -> str:
    """``[1.684, 1.698]`` with digits that resolve the interval's width."""
    if decimals is None and math.isfinite(lo) and math.isfinite(hi):
        decimals = decimals_for((hi - lo) / 2)
    return f"[{fmt_fixed(lo, decimals)}, {fmt_fixed(hi, decimals)}]"


def denoise(values: pd.Series) -> pd.Series:
    """Values at rounding level against the column's largest become exactly 0."""
    if not pd.api.types.is_float_dtype(values):
        return values
    finite = values[np.isfinite(values)].abs()
    if finite.empty or finite.max() == 0:
        return values
    out = values.copy()
    out[(values.abs() <= NOISE * finite.max()) & np.isfinite(values)] = 0.0
    return out


def merge_ci(df: pd.DataFrame) -> pd.DataFrame:
    """Render *_ci_low/*_ci_high pairs as one '[lo, hi]' column named *_ci; the estimate beside
    it (``<stem>_mean`` or ``<stem>``) gets the decimals its interval resolves."""
    out = df.copy()
    for col in [c for c in df.columns if c.endswith("_ci_low")]:
        stem = col[: -len("_ci_low")]
        hi = f"{stem}_ci_high"
        if hi in df.columns:
            decs = [
                decimals_for((b - a) / 2) if math.isfinite(a) and math.isfinite(b) else None
                for a, b in zip(df[col].astype(float), df[hi].astype(float))
            ]
            for est in (f"{stem}_mean", stem):
                if est in out.columns and pd.api.types.is_float_dtype(out[est]):
                    out[est] = [fmt_fixed(v, d) for v, d in zip(out[est], decs)]
                    break
            out.insert(
                out.columns.get_loc(col),
                f"{stem}_ci",
                [fmt_ci(a, b, d) for a, b, d in zip(df[col], df[hi], decs)],
            )
            out = out.drop(columns=[col, hi])
    return out


def display_frame(df: pd.DataFrame, language: str) -> pd.DataFrame:
    """Localized headers and cells: labels for words, ``fmt`` for numbers, no rounding noise."""
    shown = merge_ci(df.apply(denoise))
    body = {
        label(c, language): [label(v, language) if isinstance(v, str) else fmt(v) for v in shown[c]]
        for c in shown.columns
    }
    return pd.DataFrame(body)


def to_markdown(df: pd.DataFrame, language: str) -> str:
    shown = display_frame(df, language)

    def cell(v):
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    lines = [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in shown.itertuples(index=False)
    ]
    return "\n".join([header, rule, *lines]) + "\n"


TEX_SUPERSCRIPTS = dict(zip("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
TEX_SYMBOLS = {"·": r"$\cdot$"}

TEX_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    "‖": r"$\|$",
    "γ": r"$\gamma$",
    "β": r"$\beta$",
    "ε": r"$\varepsilon$",
    "√": r"$\sqrt{}$",
    "∞": r"$\infty$",
    "−": "-",
    "–": "--",
    "✓": "yes",
    "✗": "no",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "±": r"$\pm$",
    "×": r"$\times$",
}


def tex_escape(text: str) -> str:
    parts = re.split(f"([{''.join(TEX_SUPERSCRIPTS)}]+)", str(text))  # ⁻¹⁶ -> $^{-16}$
    return "".join(
        "$^{" + "".join(TEX_SUPERSCRIPTS[ch] for ch in part) + "}$"
        if part and part[0] in TEX_SUPERSCRIPTS
        else "".join(TEX_ESCAPES.get(ch, TEX_SYMBOLS.get(ch, ch)) for ch in part)
        for part in parts
    )


def to_latex(df: pd.DataFrame, language: str) -> str:
    """A booktabs tabular, ready for \\input inside a table environment."""
    shown = display_frame(df, language)
    align = "".join("r" if _numeric(df, c) else "l" for c in merge_ci(df).columns)
    lines = [
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(tex_escape(c) for c in shown.columns) + r" \\",
        "\\midrule",
    ]
    lines += [
        " & ".join(tex_escape(v) for v in row) + r" \\" for row in shown.itertuples(index=False)
    ]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def _numeric(df: pd.DataFrame, col: str) -> bool:
    return col in df.columns and pd.api.types.is_numeric_dtype(df[col]) and df[col].dtype != bool


def write_table(df: pd.DataFrame, csv_path, md_path, tex_path, language: str) -> None:
    io.write_text(df.to_csv(index=False, float_format="%.10g", lineterminator="\n"), csv_path)
    io.write_text(to_markdown(df, language), md_path)
    io.write_text(to_latex(df, language), tex_path)
