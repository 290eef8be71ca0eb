"""The machinery of the quoted numbers (``numbers`` declares them): a ``Number`` and its spec
list, the cell extraction ``pick``, which numbers a build has and where they are read from, and
``compute``, which evaluates them and writes each one's text through ``numfmt``: a number read
from a table cell prints as the table prints that cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lnpaper.pipeline import paths, registry
from lnpaper.report.formatting import printed_frame
from lnpaper.report.numfmt import estimate_text, pm_text, quoted_text, tex_of
from lnpaper.report.uncertainty import columns as uncertainty_columns


@dataclass(frozen=True)
class Number:
    """One quoted number. ``source`` is "table:<name>", "experiment:<exp>/<output>", "config"
    or "config:<exp>" (a config value of one experiment: it drops out with the experiment)."""

    name: str
    source: str
    extract: Callable[[object], float]
    # how a number that is no table cell prints (a table cell prints as its table prints it):
    # decimals for "fixed", decimals of the mantissa for "sci"
    digits: int = 3
    style: str = "fixed"  # fixed | int | sci
    # half-width of the value's 95% interval: then the text is "value ± u" and the decimals
    # follow the uncertainty (u to 1 significant digit, 2 when it starts with 1 or 2)
    uncertainty: Callable[[object], float] | None = None

    @property
    def kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def ref(self) -> str:
        return self.source.split(":", 1)[1] if ":" in self.source else ""


SPEC: list[Number] = []
MACRO_NAME = re.compile(r"^[A-Za-z]+$")  # TeX control words: letters only


def number(
    name: str,
    source: str,
    digits: int = 3,
    style: str = "fixed",
    uncertainty: Callable[[object], float] | None = None,
):
    def register(fn):
        if not MACRO_NAME.match(name) or any(n.name == name for n in SPEC):
            raise ValueError(f"number name {name!r} must be letters only and unique")
        SPEC.append(Number(name, source, fn, digits, style, uncertainty))
        return fn

    return register


# ---------------------------------------------------------------- extraction helpers

# the cells ``pick`` read, (column, row position), in order: ``compute`` takes the one a number's
# value came from as the table cell it quotes
READ: list[tuple[str, int]] = []


def pick(df: pd.DataFrame, col: str, **where) -> float:
    """The single value of ``col`` in the row matching ``where`` (floats compared with isclose)."""
    mask = pd.Series(True, index=df.index)
    for key, want in where.items():
        if isinstance(want, float):
            mask &= (
                df[key].astype(float).map(lambda v, want=want: math.isclose(v, want, abs_tol=1e-12))
            )
        else:
            mask &= df[key] == want
    rows = df.loc[mask, col]
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} rows for {where} (need exactly 1)")
    READ.append((col, int(df.index.get_loc(rows.index[0]))))
    return float(rows.iloc[0])


def half_width(get_low: Callable, get_high: Callable) -> Callable:
    """Half the width of a 95% interval, for "value ± u"; it keeps the interval's bounds
    (``bounds``), so an asymmetric interval prints as "value [lo, hi]"."""

    def get(t):
        return (get_high(t) - get_low(t)) / 2.0

    get.bounds = (get_low, get_high)
    return get


# ---------------------------------------------------------------- availability and sources


def source_path(n: Number) -> str:
    """Path of the file a number is read from (relative to the workflow root)."""
    if n.kind == "table":
        return paths.table_file(n.ref, "csv")
    if n.kind == "experiment":
        return registry.experiment_path(n.ref)
    return "config.yaml"


def source_step(n: Number) -> str:
    """The pipeline step that wrote the source file (its MLflow run is the number's run)."""
    return {"table": f"table_{n.ref}", "experiment": n.ref.split("/")[0]}.get(n.kind, "numbers")


def in_build(config: dict) -> list[Number]:
    """The numbers whose source is part of this build, in spec order."""
    tables = set(registry.enabled_tables(config))
    experiments = set(registry.enabled_experiments(config))
    out = []
    for n in SPEC:
        if n.kind == "table" and n.ref not in tables:
            continue
        if n.kind == "config" and n.ref and n.ref not in experiments:
            continue
        if n.kind == "experiment" and (
            n.ref.split("/")[0] not in experiments
            or n.ref.split("/")[1] not in registry.EXPERIMENTS.get(n.ref.split("/")[0], [])
        ):
            continue
        out.append(n)
    return out


def source_files(config: dict) -> dict[str, str]:
    """Source -> file of every number in this build that is read from a file (the rule's files)."""
    files = {n.source: source_path(n) for n in in_build(config) if n.kind != "config"}
    return dict(sorted(files.items()))


# ---------------------------------------------------------------- formatting (numfmt)


def format_text(value: float, n: Number) -> str:
    """The text of a number that is no table cell, in the digits its spec declares."""
    return quoted_text(value, n.style, n.digits)


def format_tex(value: float, n: Number) -> str:
    return tex_of(format_text(value, n))


def table_cell(frame: pd.DataFrame, value: float, read: list) -> tuple[str, int] | None:
    """(column, row) of the table cell a quoted number is read from: the last cell ``pick`` read
    when it holds the value, else the first cell that holds exactly ``value`` (a maximum over a
    column). Integers are not looked up (counts: they print the same everywhere, and would match
    unrelated cells)."""
    if not math.isfinite(value) or float(value).is_integer():
        return None
    if read and float(frame[read[-1][0]].iloc[read[-1][1]]) == value:
        return read[-1]
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col]):
            rows = (frame[col] == value).to_numpy().nonzero()[0]
            if len(rows):
                return str(col), int(rows[0])
    return None


def whole_text(value: float, lo: float, hi: float, fallback: str) -> str:
    """``41 [41, 42]``: a whole-number estimate with its interval (the order statistics of whole
    numbers), even of zero width, so the text shows that it has one; ``fallback`` without."""
    if not all(math.isfinite(v) for v in (value, lo, hi)):
        return fallback
    return f"{fallback} [{quoted_text(lo, 'int', 0)}, {quoted_text(hi, 'int', 0)}]"


def quote(
    n: Number,
    value: float,
    u: float,
    cell: tuple[str, int] | None,
    printed,
    bounds: tuple[float, float] | None = None,
) -> dict:
    """Text, TeX and table cell of one number. A table cell prints as the table prints it
    (``printed``: the table's ``formatting.printed_frame``); with an uncertainty, "value ± u" at
    the decimals u sets (the digits the table gives the estimate beside its interval), or
    "value [lo, hi]" when the interval (``bounds``) is asymmetric (``numfmt.estimate_text``);
    a whole number (style "int", a median step) always "value [lo, hi]", without decimals."""
    text = format_text(value, n) if cell is None else printed[cell[0]].iloc[cell[1]]
    if n.uncertainty is not None and bounds is not None and n.style == "int":
        text = whole_text(value, *bounds, text)
    elif n.uncertainty is not None and bounds is not None:
        text = estimate_text(value, *bounds, text)
    elif n.uncertainty is not None:
        text = pm_text(value, u, text)
    return {
        "text": text,
        "tex": tex_of(text),
        "cell_column": cell[0] if cell else "",
        "cell_row": cell[1] if cell else -1,
    }


COLUMNS = [
    "name",
    "value",
    "text",
    "tex",
    "source",
    "file",
    "step",
    "cell_column",
    "cell_row",
    # the value's uncertainty (report/uncertainty.py): 95% half-width, standard error, printed
    # decimals; what a comparison of two builds weighs a change against
    "ci_half_width",
    "se",
    "decimals",
]


def compute(sources: dict[str, pd.DataFrame], config: dict, names: list[str]) -> pd.DataFrame:
    """Evaluate the named numbers (those ``available`` in this build).

    ``sources``: source string -> DataFrame; ``config``: the ``config_slice``. Returns one row
    per number in spec order: name, value, text, tex, source, file, step, the table cell it
    is read from (``cell_column``, ``cell_row``; "" and -1 for none) and its uncertainty
    (``ci_half_width``, ``se``: NaN without an interval; ``decimals`` printed).
    """
    rows, printed = [], {}
    wanted = set(names)
    for n in (n for n in SPEC if n.name in wanted):
        data = config if n.kind == "config" else sources[n.source]
        READ.clear()
        value, u = _evaluate(_with_config(n.extract, config), data), float("nan")
        cell = None
        if n.kind == "table" and n.style != "int":
            if n.source not in printed:
                printed[n.source] = printed_frame(data)
            cell = table_cell(data, value, list(READ))
            if cell and cell[0] not in printed[n.source]:
                cell = None  # an interval bound: the table prints it inside its "±" column
        if n.uncertainty is not None:
            u = _evaluate(n.uncertainty, data)
        quoted = quote(n, value, u, cell, printed.get(n.source), _bounds(n, data))
        rows.append(
            {
                "name": n.name,
                "value": value,
                **quoted,
                "source": n.source,
                "file": source_path(n),
                "step": source_step(n),
                **uncertainty_columns(u, quoted["text"]),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _bounds(n: Number, data) -> tuple[float, float] | None:
    """The interval of a number whose uncertainty keeps its bounds (``half_width``)."""
    bounds = getattr(n.uncertainty, "bounds", None)
    return None if bounds is None else (_evaluate(bounds[0], data), _evaluate(bounds[1], data))


def _with_config(get: Callable, config: dict) -> Callable:
    """An extraction that also reads the config (``get.with_config``: an interval drawn from
    the config's seed) as one of its source alone."""
    return (lambda data: get(data, config)) if getattr(get, "with_config", False) else get


def _evaluate(get: Callable, data) -> float:
    try:
        return float(get(data))
    except (LookupError, ValueError):
        return float("nan")  # the row this number needs is not in this build's config


def to_tex(numbers: pd.DataFrame) -> str:
    """One \\newcommand per number, in spec order; no times, run ids or paths that vary."""
    lines = [
        "% Numbers quoted by the manuscript; generated by the `numbers` rule. Do not edit.",
        "% Each macro's source file is in numbers.json.",
    ]
    lines += [f"\\newcommand{{\\{r.name}}}{{{r.tex}}}" for r in numbers.itertuples()]
    return "\n".join(lines) + "\n"
