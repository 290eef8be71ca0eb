"""Table rendering (Markdown, booktabs LaTeX) with TeX escaping; every number in a table is
written by ``numfmt`` (re-exported here: ``fmt``, ``fmt_fixed``, ``fmt_pm``, ``fmt_ci``,
``decimals_for``)."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd

from lnpaper.pipeline import io
from lnpaper.report.labels import label, texts
from lnpaper.report.numfmt import (  # noqa: F401  (the table formatter's public names)
    decimals_for,
    fmt,
    fmt_ci,
    fmt_fixed,
    fmt_pm,
    half_width,
)

# a value this small against the largest of its column is rounding noise of a quantity that is
# zero by construction at one point of the grid: the growth rates ln s + λ₁ at s = s* (and
# ln s - ln s at s = 1 for orthogonal B): it prints 0, never 1.1e-12. Only those columns: every
# other column holds measurements whose small values are results (a vanishing gradient of 10⁻⁸
# beside an exploding one of 10⁴, a float32 error of 6·10⁻⁷ beside 10³ past the offset limit).
ZERO_BY_CONSTRUCTION = ("growth_rate", "frobenius_rate", "rate_minus_log_scale")
NOISE = 1e-9


def denoise(values: pd.Series) -> pd.Series:
    """In a column of a quantity zero by construction at some grid point, values at rounding
    level against its largest become exactly 0; other columns are left as measured."""
    if not (
        pd.api.types.is_float_dtype(values) and str(values.name).startswith(ZERO_BY_CONSTRUCTION)
    ):
        return values
    finite = values[np.isfinite(values)].abs()
    if finite.empty or finite.max() == 0:
        return values
    out = values.copy()
    out[(values.abs() <= NOISE * finite.max()) & np.isfinite(values)] = 0.0
    return out


def _whole(*values) -> bool:
    """Whole numbers, all of them (a median step and its order-statistic bounds): they print
    without decimals, which lose nothing, instead of the decimals a half-width of 0.5 sets."""
    try:
        return all(math.isfinite(float(v)) and float(v).is_integer() for v in values)
    except (TypeError, ValueError):
        return False


def merge_ci(df: pd.DataFrame) -> pd.DataFrame:
    """Render *_ci_low/*_ci_high pairs as one '[lo, hi]' column named *_ci; the estimate beside
    it (``<stem>_mean`` or ``<stem>``) gets the decimals its interval resolves."""
    out = df.copy()
    for col in [c for c in df.columns if c.endswith("_ci_low")]:
        stem = col[: -len("_ci_low")]
        hi = f"{stem}_ci_high"
        if hi in df.columns:
            ests = next((out[e] for e in (f"{stem}_mean", stem) if e in out.columns), None)
            decs = [
                0 if _whole(a, b, e) else decimals_for(half_width(a, b))
                for a, b, e in zip(
                    df[col].astype(float),
                    df[hi].astype(float),
                    df[col].astype(float) if ests is None else ests,
                )
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


# Columns the CSV keeps for analysis but the printed tables leave out: bookkeeping that the caption
# states once (every scale of a (B distribution, n) pair shares one draw set; which scales are the
# paper's) and a second overflow step that the text does not discuss.
PRINT_HIDDEN = ("draw_set", "scale_source", "entry_overflow_step_median")


def _cells(df: pd.DataFrame) -> pd.DataFrame:
    """Hidden columns dropped, rounding noise set to 0, intervals merged (``merge_ci``)."""
    return merge_ci(df.drop(columns=[c for c in PRINT_HIDDEN if c in df.columns]).apply(denoise))


def printed_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The cells as every rendering of the table prints them, before words are localized:
    machine column names, numbers as text (an estimate at its interval's digits)."""
    shown = _cells(df)
    return pd.DataFrame(
        {c: [v if isinstance(v, str) else fmt(v) for v in shown[c]] for c in shown.columns},
        index=shown.index,
    )


def display_frame(df: pd.DataFrame, language: str) -> pd.DataFrame:
    """Localized headers and cells: labels for words, ``fmt`` for numbers, no rounding noise."""
    shown = _cells(df)
    body = {
        label(c, language): [label(v, language) if isinstance(v, str) else fmt(v) for v in shown[c]]
        for c in shown.columns
    }
    return pd.DataFrame(body)


# what a table with no rows says instead (report/text.yaml)
EMPTY_NOTE: dict = texts("manuscript_notes")["table_empty"]


def empty_note(experiments, language: str) -> str:
    """The sentence an empty table prints: which experiment(s) ran none of its conditions."""
    exps = ", ".join(f"`{e}`" for e in experiments) or "?"
    return EMPTY_NOTE.get(language, EMPTY_NOTE["en"]).format(exps=exps)


def to_markdown(df: pd.DataFrame, language: str, experiments=()) -> str:
    """A pipe table; a table with no rows is one italic line naming the ``experiments`` that
    feed it (an empty table under this config, not a missing one)."""
    if df.empty:
        return f"*{empty_note(experiments, language)}*\n"
    shown = display_frame(df, language)

    def cell(v):
        return str(v).replace("|", "\\|")

    header = "| " + " | ".join(cell(c) for c in shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    lines = [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in shown.itertuples(index=False)
    ]
    return "\n".join([header, rule, *lines]) + "\n"


# Characters TeX treats specially, and typographic ones written as plain ASCII.
TEX_TEXT = {
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
    "–": "--",
    "✓": "yes",
    "✗": "no",
}
# Symbols written as LaTeX math, so a table reads the same in any font and engine (pdfLaTeX
# included): only letters are left for the text font.
TEX_MATH = {
    "‖": r"\|",
    "|": "|",
    "<": "<",
    ">": ">",
    "−": "-",
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "τ": r"\tau",
    "Γ": r"\Gamma",
    "Δ": r"\Delta",
    "Σ": r"\Sigma",
    "∇": r"\nabla",
    "√": r"\surd",
    "∞": r"\infty",
    "≈": r"\approx",
    "≠": r"\neq",
    "≤": r"\le",
    "≥": r"\ge",
    "±": r"\pm",
    "×": r"\times",
    "·": r"\cdot",
    "→": r"\to",
    "∈": r"\in",
    **{chr(0x2080 + d): f"_{{{d}}}" for d in range(10)},
    **{sup: f"^{{{d}}}" for d, sup in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
}
# Combining accents over a Latin letter (x̂): the letter in math with the accent.
TEX_ACCENTS = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar"}


SUPERSCRIPT_DIGITS = "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"
SCRIPT_DIGITS = str.maketrans(
    {**dict(zip(SUPERSCRIPT_DIGITS, "-0123456789")), **{chr(0x2080 + d): str(d) for d in range(10)}}
)


def tex_escape(text: str) -> str:
    """Text for LaTeX: specials escaped, symbols as math, runs of symbols in one $...$.

    A sub- or superscript takes a lone letter before it into the math (W₁ -> $W_{1}$).
    """
    text = unicodedata.normalize("NFC", str(text))
    pieces: list[tuple[bool, str]] = []  # (is_math, tex)

    def add(is_math: bool, tex: str) -> None:
        if pieces and pieces[-1][0] == is_math:
            prev = pieces[-1][1]
            gap = " " if is_math and re.search(r"\\[A-Za-z]+$", prev) and tex[0].isalpha() else ""
            pieces[-1] = (is_math, prev + gap + tex)
        else:
            pieces.append((is_math, tex))

    def take_base_letter(script: str) -> str:
        """A script takes a lone letter before it into the math (W₁ -> $W_{1}$)."""
        if pieces and not pieces[-1][0]:
            prev = pieces[-1][1]
            if re.search(r"(^|[^A-Za-z\\])[A-Za-z]$", prev):
                pieces[-1] = (False, prev[:-1])
                if not prev[:-1]:
                    pieces.pop()
                return prev[-1] + script
        return script

    # a run of super- or subscript characters is one script: 10⁻¹⁶ -> 10^{-16}, not 10^{1}^{6}
    tokens = re.findall(r"[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|[₀-₉]+|.", text, flags=re.S)
    for i, ch in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if ch[0] in SUPERSCRIPT_DIGITS or "₀" <= ch[0] <= "₉":
            tex = (
                ("^" if ch[0] in SUPERSCRIPT_DIGITS else "_")
                + "{"
                + ch.translate(SCRIPT_DIGITS)
                + "}"
            )
            add(True, take_base_letter(tex))
            continue
        if ch in TEX_ACCENTS:
            continue  # written with the letter before it
        if nxt in TEX_ACCENTS and ch.isascii() and ch.isalpha():
            add(True, f"{TEX_ACCENTS[nxt]}{{{ch}}}")
        elif ch in TEX_MATH:
            tex = TEX_MATH[ch]
            add(True, take_base_letter(tex) if tex[0] in "_^" else tex)
        else:
            add(False, TEX_TEXT.get(ch, ch))
    return "".join(f"${t}$" if m else t for m, t in pieces if t)


# How to_latex lays out a table for the bundle's main.tex: A4 with 2.5 cm margins, tables set
# at 8 pt (\footnotesize) in a condensed face. Widths are estimated in em of that type.
TABLE_PT = 8
PAGE_WIDTH_EM = {"portrait": 56, "landscape": 86}  # 160 mm and 247 mm at 8 pt, less a margin
CHAR_EM = 0.5  # mean advance of a character (digits, lower case) in a condensed serif
COLSEP_EM = 1.5  # booktabs column separation, 2 x 6 pt
WRAP_CHARS = 36  # a text column with longer cells becomes a ragged-right paragraph column
PROSE_MIN_EM = 14  # narrowest paragraph column
LONG_LINES = 30  # a table taller than this many lines is a longtable (breaks across pages)
KEY_SHARE = 0.45  # a wide table split into parts repeats its leading columns up to this share


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap to ``width`` characters (a word longer than that stays whole)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _columns(df: pd.DataFrame, shown: pd.DataFrame) -> list[dict]:
    """Per column: kind (num, text, prose), width in em, header lines."""
    cols = []
    for machine, head in zip(merge_ci(df).columns, shown.columns):
        cells = [str(v) for v in shown[head]]
        longest = max((len(c) for c in cells), default=0)
        numeric = _numeric(df, machine) or machine.endswith("_ci")
        kind = "num" if numeric else ("prose" if longest > WRAP_CHARS else "text")
        words = max((len(w) for w in str(head).split()), default=0)
        chars = max(longest, words, -(-len(str(head)) // 3)) if kind != "prose" else longest
        cols.append(
            {
                "kind": kind,
                "em": PROSE_MIN_EM if kind == "prose" else chars * CHAR_EM,
                "natural_em": longest * CHAR_EM,
                "lines": [str(head)] if kind == "prose" else _wrap(head, chars),
                "cells": cells,
            }
        )
    return cols


def _width(cols: list[dict]) -> float:
    return sum(c["em"] + COLSEP_EM for c in cols)


def _split(cols: list[dict], budget: float) -> list[list[int]]:
    """Column indices of each part: the whole table, or parts that each repeat the key columns."""
    if _width(cols) <= budget:
        return [list(range(len(cols)))]
    half = [i for i in range(len(cols) // 2) if cols[i]["kind"] != "num"]
    keys = list(range(half[-1] + 1)) if half else [0]
    while len(keys) > 1 and _width([cols[i] for i in keys]) > KEY_SHARE * budget:
        keys.pop()
    rest = [i for i in range(len(cols)) if i not in keys]
    room = budget - _width([cols[i] for i in keys])
    n_parts = max(1, -(-_width([cols[i] for i in rest]) // room))
    target = _width([cols[i] for i in rest]) / n_parts
    parts: list[list[int]] = [[]]
    for i in rest:
        part = [cols[j] for j in parts[-1] + [i]]
        if parts[-1] and (_width(part) > room or _width(part[:-1]) >= target):
            parts.append([])
        parts[-1].append(i)
    return [keys + p for p in parts]


def _height(cols: list[dict]) -> int:
    """Lines the table takes: header plus each row's tallest wrapped cell."""
    n_rows = len(cols[0]["cells"]) if cols else 0
    lines = max((len(c["lines"]) for c in cols if c["kind"] != "prose"), default=1) + 1
    for r in range(n_rows):
        lines += max(
            [1]
            + [-(-len(c["cells"][r]) * CHAR_EM // c["em"]) for c in cols if c["kind"] == "prose"]
        )
    return int(lines)


def table_layout(tex: str) -> dict:
    """What to_latex chose for a table, read back from the first line of its .tex."""
    m = re.match(r"% lnpaper table: (\w+) on a (\w+) page, about ([\d.]+) em wide", tex)
    if not m:
        raise ValueError("not a table written by to_latex")
    return {"env": m.group(1), "page": m.group(2), "width_em": float(m.group(3))}


def to_latex(df: pd.DataFrame, language: str, experiments=()) -> str:
    """A booktabs table for \\input: a ``tabular`` (for a table float) when it fits one page,
    else a ``longtable`` with its header repeated on every page; a table too wide for a
    landscape page is split into parts that each repeat the leading (key) columns.

    Never scaled: widths are estimated at 8 pt, long text wraps in paragraph columns, headers
    wrap onto several lines. The first line says which environment and page orientation
    (``table_layout``); the packages needed are booktabs and array (+ longtable).
    """
    if df.empty:  # no rows: the note of to_markdown, set as a paragraph in the table float
        return (
            f"% lnpaper table: tabular on a portrait page, about 0.0 em wide at {TABLE_PT} pt;"
            f" 0 rows, {len(df.columns)} columns, 0 part(s). Needs booktabs, array.\n"
            f"\\emph{{{tex_escape(empty_note(experiments, language).replace('`', ''))}}}\\par\n"
        )
    shown = display_frame(df, language)
    cols = _columns(df, shown)
    page = "portrait" if _width(cols) <= PAGE_WIDTH_EM["portrait"] else "landscape"
    parts = _split(cols, PAGE_WIDTH_EM[page])
    for part in parts:  # paragraph columns share the room left on the page
        prose = [cols[i] for i in part if cols[i]["kind"] == "prose"]
        room = PAGE_WIDTH_EM[page] - _width([cols[i] for i in part])
        natural = sum(c["natural_em"] - c["em"] for c in prose)
        for c in prose:
            grow = (c["natural_em"] - c["em"]) * min(1.0, room / natural) if natural > 0 else 0
            c["em"] = round(c["em"] + max(0.0, grow), 1)
    long = _height(cols) > LONG_LINES
    env = "longtable" if long else "tabular"
    widest = max(_width([cols[i] for i in part]) for part in parts)
    out = [
        f"% lnpaper table: {env} on a {page} page, about {widest:.1f} em wide at {TABLE_PT} pt;"
        f" {len(shown)} rows, {len(cols)} columns, {len(parts)} part(s)."
        f" Needs booktabs, array{', longtable' if long else ''}."
    ]
    for k, part in enumerate(parts):
        if k:
            out.append(r"\par\bigskip" if not long else "")
        out += _render([cols[i] for i in part], env)
    return "\n".join(out) + "\n"


def _render(cols: list[dict], env: str) -> list[str]:
    def spec(c):
        if c["kind"] == "prose":
            return rf">{{\raggedright\arraybackslash}}p{{{c['em']:g}em}}"
        return "r" if c["kind"] == "num" else "l"

    def head(c):
        if len(c["lines"]) == 1:
            return tex_escape(c["lines"][0])
        body = r" \\ ".join(tex_escape(line) for line in c["lines"])
        return rf"\begin{{tabular}}[b]{{@{{}}{spec(c)}@{{}}}}{body}\end{{tabular}}"

    header = " & ".join(head(c) for c in cols) + r" \\"

    def cell(c, text):
        tex = tex_escape(text)
        if c["kind"] != "prose":
            return tex
        # paths and identifiers in paragraph columns may break after / and _ (outside math)
        parts = re.split(r"(\$[^$]*\$)", tex)
        brk = [p.replace("/", r"/\allowbreak{}").replace(r"\_", r"\_\allowbreak{}") for p in parts]
        return "".join(p if p.startswith("$") else b for p, b in zip(parts, brk))

    rows = [
        " & ".join(cell(c, c["cells"][r]) for c in cols) + r" \\"
        for r in range(len(cols[0]["cells"]) if cols else 0)
    ]
    lines = [rf"\begin{{{env}}}{{{''.join(spec(c) for c in cols)}}}", r"\toprule", header]
    if env == "longtable":
        n = len(cols)
        lines += [
            r"\midrule",
            r"\endfirsthead",
            r"\toprule",
            header,
            r"\midrule",
            r"\endhead",
            rf"\midrule\multicolumn{{{n}}}{{r}}{{\dots}} \\",
            r"\endfoot",
            r"\bottomrule",
            r"\endlastfoot",
            *rows,
            r"\end{longtable}",
        ]
    else:
        lines += [r"\midrule", *rows, r"\bottomrule", r"\end{tabular}"]
    return lines


def _numeric(df: pd.DataFrame, col: str) -> bool:
    return col in df.columns and pd.api.types.is_numeric_dtype(df[col]) and df[col].dtype != bool


def write_table(
    df: pd.DataFrame, csv_path, md_path, tex_path, language: str, experiments=()
) -> None:
    """The CSV (machine names, header only when empty) and the Markdown and LaTeX renderings;
    ``experiments``: the ones whose results feed the table, named when it has no rows."""
    io.write_text(df.to_csv(index=False, float_format="%.10g", lineterminator="\n"), csv_path)
    io.write_text(to_markdown(df, language, experiments), md_path)
    io.write_text(to_latex(df, language, experiments), tex_path)
