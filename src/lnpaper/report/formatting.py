"""Number formatting and table rendering (Markdown, booktabs LaTeX), with TeX escaping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lnpaper.pipeline import io
from lnpaper.report.labels import label


def fmt(value, digits: int = 4) -> str:
    """Fixed, locale-free formatting: same value, same string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else "✗"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value == 0:
            return "0"
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.{digits}g}"
    return str(value)


def merge_ci(df: pd.DataFrame) -> pd.DataFrame:
    """Render *_ci_low/*_ci_high pairs as one '[lo, hi]' column named *_ci."""
    out = df.copy()
    for col in [c for c in df.columns if c.endswith("_ci_low")]:
        stem = col[: -len("_ci_low")]
        hi = f"{stem}_ci_high"
        if hi in df.columns:
            out.insert(
                out.columns.get_loc(col),
                f"{stem}_ci",
                [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(df[col], df[hi])],
            )
            out = out.drop(columns=[col, hi])
    return out


def display_frame(df: pd.DataFrame, language: str) -> pd.DataFrame:
    shown = merge_ci(df)
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
    return "".join(TEX_ESCAPES.get(ch, ch) for ch in str(text))


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
