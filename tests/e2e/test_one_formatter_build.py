"""One number formatter, end to end: on the shared tiny build every quoted number that comes from a
table cell prints exactly as that cell."""

from __future__ import annotations

import json
import math
import re

import pandas as pd

from lnpaper.report import formatting


def md_cells(path) -> list[list[str]]:
    """The body rows of a Markdown table as printed cell texts."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("|")]
    return [
        [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]]
        for ln in lines[2:]
    ]


def printed_tables(results) -> dict[str, tuple[pd.DataFrame, list[str], list[list[str]]]]:
    """name -> (CSV frame, machine names of the printed columns, printed cells of the .md)."""
    out = {}
    for csv in sorted((results / "tables").glob("*.csv")):
        md = csv.with_suffix(".md")
        if not md.exists() or csv.stem == "runtime":
            continue
        df = pd.read_csv(csv)
        out[csv.stem] = (df, list(formatting.printed_frame(df).columns), md_cells(md))
    return out


def decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_every_number_in_a_table_and_the_prose_prints_the_same_digits(tiny_build):
    results = tiny_build[0] / "results"
    quoted = json.loads((results / "manuscript/numbers.json").read_text())["numbers"]
    tables = printed_tables(results)
    linked = {k: v for k, v in quoted.items() if "cell" in v}
    assert len(linked) >= 20, sorted(quoted)  # the quoted table cells know their cell
    for name, entry in linked.items():  # the cell each number records prints its value's text
        df, columns, cells = tables[entry["cell"]["table"]]
        row, col = entry["cell"]["row"], entry["cell"]["column"]
        assert math.isclose(df.at[row, col], entry["value"], rel_tol=1e-9), name
        # the text is "v ± u" or, for an asymmetric interval, "v [lo, hi]"
        value_text, *u_text = entry["text"].split(" ± ")
        value_text = value_text.split(" [")[0]
        assert cells[row][columns.index(col)] == value_text, name
        stem = col.removesuffix("_mean")
        if u_text and f"{stem}_ci" in columns:  # the interval beside it has u's digits
            interval = cells[row][columns.index(f"{stem}_ci")]
            assert decimals(interval.split(",")[0]) == decimals(u_text[0]), name
    # and wherever else the same quantity stands in a table: the same column of another table
    # (a main-text table cut from a full grid) or the headline value of a claim
    checked = 0
    for name, entry in linked.items():
        v, same = entry["value"], {entry["cell"]["column"], "value"}
        for table, (df, columns, cells) in tables.items():
            for col in (c for c in columns if c in same and pd.api.types.is_float_dtype(df[c])):
                for row in (df[col] - v).abs().le(1e-9 * abs(v)).to_numpy().nonzero()[0]:
                    checked += 1
                    where = f"{name} in {table}.{col}[{row}]"
                    shown = entry["text"].split(" ± ")[0].split(" [")[0]
                    assert cells[row][columns.index(col)] == shown, where
    assert checked > len(linked)  # some quantity is shown twice (scale_main, claims)
