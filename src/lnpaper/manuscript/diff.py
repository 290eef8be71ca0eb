"""A diff of the paper between two builds: ``lnpaper diff`` writes ``diff.html``, a self-contained
page that opens with a one-line summary and the config parameters that differ, then lists the
claim verdicts that flipped, the numbers and table cells that changed significantly, the changes
within noise (folded away), and ends with the newer paper, every significant change marked old -> new.

A change is significant by the rule of ``noise``: beyond twice the two values' combined standard
error, or, for a number without one, a different print at its printed digits. A change of seed
moves most estimates a little; only the changes beyond their noise, and the flipped verdicts,
are what a reader has to look at.

A build is read from a results-like folder: ``manuscript/numbers.parquet`` (the quoted numbers),
``tables/<name>.md`` (the tables as the paper shows them), ``tables/claims.csv`` (the verdicts),
``manifests/*.json`` (the config each step ran with) and, for the newer build,
``manuscript/paper.md`` (the filled text). ``lnpaper diff`` makes such folders from two results
folders or from two builds logged in MLflow (whose build run holds the config as params).

The page speaks the builds' language. Two builds written in different languages are compared by
what does not depend on the language, the numbers' values and the claims' verdicts; their table
cells and texts differ by translation only and are left out, and the page says so.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lnpaper.manuscript import noise
from lnpaper.manuscript.render import pandoc_args, pandoc_html
from lnpaper.pipeline import io, registry
from lnpaper.report.labels import texts

TEXT: dict = texts("diff")  # report/text.yaml
STYLE = """<style>
.num-changed { background: #ffe08a; }
details { margin: 1em 0; }
mark { background: #ffe08a; }
del { color: #a00; }
</style>
"""

# a number in the filled Markdown: [[text](url)]{.num data-name="X" title="..."} or, untracked,
# [text]{.num data-name="X" title="..."}
NUMBER = re.compile(
    r"\[(?P<text>\[[^\]]*\]\([^)]*\)|[^\]]*)\](?:\([^)]*\))?"
    r'\{\.num data-name="(?P<name>\w+)"(?P<rest>[^}]*)\}'
)


def printed(m: re.Match) -> str:
    """The printed value of a ``NUMBER`` match (without its run link)."""
    return m.group("text").lstrip("[").split("](")[0]


def _t(key: str, language: str, **kw) -> str:
    return TEXT[key].get(language, TEXT[key]["en"]).format(**kw)


@dataclass
class Snapshot:
    """What a build quotes: numbers (name -> (value, text)), tables (name -> Markdown), claims;
    the config it was built with (flattened key -> value as text) and its language."""

    label: str
    numbers: dict[str, tuple[float, str]]
    tables: dict[str, str]
    claims: pd.DataFrame | None = None
    paper: str = ""
    extra: dict = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    # name -> (standard error, printed decimals) from numbers.parquet (NaN / None where unknown)
    uncertainty: dict[str, tuple[float, int | None]] = field(default_factory=dict)


def schema_keys(schema: dict, prefix: str = "") -> set[str]:
    """The flattened keys of a config schema (``matmul.steps``, ``training.synthetic.n_classes``)."""
    keys = set()
    for name, node in (schema.get("properties") or {}).items():
        key = f"{prefix}{name}"
        keys |= schema_keys(node, f"{key}.") if node.get("properties") else {key}
    return keys


def canonical_key(key: str, keys: set[str] | None) -> str | None:
    """A step's param key as the config spells it: its shortest dotted tail that is a config key
    (``claims.experiments.affine.gamma`` -> ``affine.gamma``, ``table.language`` ->
    ``language``); None when no tail is (a step's own param, not config). Without ``keys`` the key
    is kept as it is."""
    if keys is None:
        return key
    parts = key.split(".")
    tails = [".".join(parts[i:]) for i in range(len(parts) - 1, -1, -1)]
    return next((t for t in tails if t in keys), None)


def resolved_config(folder: Path, keys: set[str] | None = None) -> dict[str, str]:
    """The config a results folder was built with, as its steps' manifests record it: every
    step's params, keyed as the config spells them (see ``canonical_key``), values as text."""
    config: dict[str, str] = {}
    for path in sorted(Path(folder).glob("manifests/*.json")):
        params = json.loads(path.read_text(encoding="utf-8")).get("params", {})
        for key, value in params.items():
            name = canonical_key(key, keys)
            if name is not None:
                config.setdefault(name, str(value))
    return config


def config_changes(a: Snapshot, b: Snapshot) -> list[tuple[str, str, str]]:
    """(key, old, new) for every config key whose value differs ("–" where a build lacks it)."""
    out = []
    for key in sorted(set(a.config) | set(b.config)):
        old, new = a.config.get(key, "–"), b.config.get(key, "–")
        if old != new:
            out.append((key, old, new))
    return out


def choose_language(a: Snapshot, b: Snapshot, requested: str | None = None) -> str:
    """The page's language: the one asked for, else the newer build's, else the older's, else vi."""
    return requested or b.language or a.language or "vi"


def load(
    folder: Path,
    label: str | None = None,
    language: str | None = None,
    keys: set[str] | None = None,
    config: dict[str, str] | None = None,
) -> Snapshot:
    """A build from a results-like folder (see the module docstring). Its config is ``config``
    when given (an MLflow build's params), else read from its manifests; its language is the
    config's, else ``language``."""
    folder = Path(folder)
    config = {k: str(v) for k, v in config.items()} if config is not None else None
    config = config if config is not None else resolved_config(folder, keys)
    language = config.get("language") or language
    nums = io.read_parquet(folder / "manuscript" / "numbers.parquet")
    numbers = {r.name: (float(r.value), str(r.text)) for r in nums.itertuples()}
    uncertainty = {r.name: _uncertainty(r) for r in nums.itertuples()}
    shown = set(registry.MAIN_TABLES) | set(registry.SUPPLEMENT_TABLES)  # not e.g. runtime
    tables = {
        p.stem: p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("tables/*.md"))
        if p.stem in shown
    }
    claims_csv = folder / "tables" / "claims.csv"
    claims = pd.read_csv(claims_csv) if claims_csv.exists() else None
    if claims is not None:
        from lnpaper.report.formatting import to_markdown
        from lnpaper.report.tables import claims_summary

        for derived, base in registry.DERIVED_TABLES.items():
            if base == "claims":
                shown_in = language or "vi"
                tables[derived] = to_markdown(claims_summary(claims, shown_in), shown_in)
    paper = folder / "manuscript" / "paper.md"
    return Snapshot(
        label=label or str(folder),
        numbers=numbers,
        tables=tables,
        claims=claims,
        paper=paper.read_text(encoding="utf-8") if paper.exists() else "",
        # where the paper's figures (figures/<name>.png beside paper.md) are found
        extra={"resources": [str(folder / "manuscript")]},
        config=config,
        language=language,
        uncertainty=uncertainty,
    )


def _uncertainty(r) -> tuple[float, int | None]:
    """(standard error, printed decimals) of a numbers.parquet row; a build older than these
    columns gives NaN and the decimals of its text."""
    from lnpaper.report.uncertainty import printed_decimals

    se = float(getattr(r, "se", math.nan))
    decimals = getattr(r, "decimals", None)
    if decimals is None or not math.isfinite(float(decimals)):
        decimals = printed_decimals(str(r.text))
    return se, None if decimals is None else int(decimals)


def number_change(a: Snapshot, b: Snapshot, name: str) -> str:
    """``noise.SAME``, ``NOISE`` or ``SIGNIFICANT`` for one quoted number of two builds."""
    if name not in a.numbers or name not in b.numbers:
        return noise.SIGNIFICANT
    se_a, dec_a = a.uncertainty.get(name, (math.nan, None))
    se_b, dec_b = b.uncertainty.get(name, (math.nan, None))
    return noise.classify(a.numbers[name][0], b.numbers[name][0], se_a, se_b, dec_a, dec_b)


def _same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def changed_numbers(a: Snapshot, b: Snapshot, by_text: bool = True) -> dict[str, tuple[str, str]]:
    """name -> (old text, new text) for every number whose value or printed text changed (the
    value only when ``by_text`` is false: two languages print the same value differently); a
    number only one build has counts as changed, with "–" on the other side."""
    out = {}
    for name in sorted(set(a.numbers) | set(b.numbers)):
        va, ta = a.numbers.get(name, (math.nan, "–"))
        vb, tb = b.numbers.get(name, (math.nan, "–"))
        missing = name not in a.numbers or name not in b.numbers
        if missing or not _same_value(va, vb) or (by_text and ta != tb):
            out[name] = (ta, tb)
    return out


def table_cells(md: str) -> list[list[str]]:
    """Rows of cells of a pipe table (header first, the rule line dropped)."""
    rows = []
    for line in md.strip().splitlines():
        if not line.startswith("|") or re.fullmatch(r"\|(-+\|)+", line.strip()):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([c.strip() for c in cells])
    return rows


def changed_cells(a_md: str, b_md: str) -> list[tuple[int, int, str, str]]:
    """(row, column, old, new) of the body cells that differ; rows added or removed count as
    changed cells on the side that has them."""
    return [cell for cell, _ in classified_cells(a_md, b_md)]


def classified_cells(a_md: str, b_md: str) -> list[tuple[tuple[int, int, str, str], str]]:
    """Each changed body cell (see ``changed_cells``) with ``noise.NOISE`` or ``SIGNIFICANT``:
    a numeric cell is judged with its row's standard errors (``noise.row_se``)."""
    ra, rb = table_cells(a_md), table_cells(b_md)
    out = []
    for i in range(1, max(len(ra), len(rb))):
        row_a = ra[i] if i < len(ra) else []
        row_b = rb[i] if i < len(rb) else []
        se_a, se_b = noise.row_se(row_a), noise.row_se(row_b)
        for j in range(max(len(row_a), len(row_b))):
            old = row_a[j] if j < len(row_a) else "–"
            new = row_b[j] if j < len(row_b) else "–"
            if old != new:
                both = j < len(row_a) and j < len(row_b)
                kind = noise.cell_change(old, new, se_a[j], se_b[j]) if both else noise.SIGNIFICANT
                out.append(((i, j, old, new), kind))
    return out


def flipped_verdicts(a: Snapshot, b: Snapshot) -> list[tuple[str, str, str, str]]:
    """(claim id, claim, old verdict, new verdict) for claims whose verdict changed."""
    if a.claims is None or b.claims is None:
        return []
    old = a.claims.set_index("claim_id")
    new = b.claims.set_index("claim_id")
    out = []
    for cid in sorted(set(old.index) | set(new.index)):
        va = str(old.at[cid, "verdict"]) if cid in old.index else "–"
        vb = str(new.at[cid, "verdict"]) if cid in new.index else "–"
        if va != vb:
            claim = str((new if cid in new.index else old).at[cid, "claim"])
            out.append((cid, claim, va, vb))
    return out


def _mark_table(b_md: str, cells: list[tuple[int, int, str, str]]) -> str:
    """The newer table with its changed cells as <mark>old → new</mark>."""
    rows = table_cells(b_md)
    for i, j, old, new in cells:
        if i < len(rows) and j < len(rows[i]):
            rows[i][j] = f"<mark><del>{old}</del> → {new}</mark>"
    header, *body = rows
    rule = "|" + "|".join("---" for _ in header) + "|"
    return (
        "\n".join(
            ["| " + " | ".join(r) + " |" for r in [header]]
            + [rule]
            + ["| " + " | ".join(r) + " |" for r in body]
        )
        + "\n"
    )


@dataclass
class Diff:
    """Everything that changed. ``numbers`` and ``cells`` hold every change, significant or not;
    ``noise_numbers`` and ``noise_cells`` name those within noise (see ``noise``)."""

    numbers: dict[str, tuple[str, str]]
    verdicts: list[tuple[str, str, str, str]]
    cells: dict[str, list[tuple[int, int, str, str]]]
    config: list[tuple[str, str, str]] = field(default_factory=list)
    # (older, newer) when the builds are written in different languages, else None
    languages: tuple[str, str] | None = None
    noise_numbers: set[str] = field(default_factory=set)
    noise_cells: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    @property
    def significant_numbers(self) -> dict[str, tuple[str, str]]:
        return {k: v for k, v in self.numbers.items() if k not in self.noise_numbers}

    def cells_of(self, significant: bool) -> dict[str, list[tuple[int, int, str, str]]]:
        """The changed cells, table by table, that are (or are not) significant."""
        out = {}
        for name, cells in self.cells.items():
            quiet = self.noise_cells.get(name, set())
            kept = [c for c in cells if ((c[0], c[1]) in quiet) != significant]
            if kept:
                out[name] = kept
        return out

    def summary(self, language: str) -> str:
        n, w = len(self.significant_numbers), len(self.noise_numbers)
        if self.languages:
            return _t("summary_languages", language, n=n, w=w, m=len(self.verdicts))
        c = sum(len(v) for v in self.cells_of(True).values())
        wc = sum(len(v) for v in self.noise_cells.values())
        return _t("summary", language, n=n, w=w, m=len(self.verdicts), c=c, wc=wc)


def compute(a: Snapshot, b: Snapshot) -> Diff:
    """What changed from ``a`` to ``b``; across two languages, numbers by value and verdicts only."""
    by_text = not (a.language and b.language and a.language != b.language)
    numbers = changed_numbers(a, b, by_text=by_text)
    quiet = {k for k in numbers if number_change(a, b, k) != noise.SIGNIFICANT}
    if not by_text:
        languages = (a.language, b.language)
        d = Diff(numbers, flipped_verdicts(a, b), {}, config_changes(a, b), languages)
        d.noise_numbers = quiet
        return d
    cells, noise_cells = {}, {}
    for name in sorted(set(a.tables) & set(b.tables)):
        found = classified_cells(a.tables[name], b.tables[name])
        if found:
            cells[name] = [c for c, _ in found]
            within = {(c[0], c[1]) for c, kind in found if kind != noise.SIGNIFICANT}
            if within:
                noise_cells[name] = within
    d = Diff(numbers, flipped_verdicts(a, b), cells, config_changes(a, b))
    d.noise_numbers, d.noise_cells = quiet, noise_cells
    return d


def marked_paper(b: Snapshot, d: Diff) -> str:
    """The newer paper's Markdown with changed numbers and table cells marked."""

    def number(m):
        name = m.group("name")
        if name not in d.numbers or name in d.noise_numbers:
            return m.group(0)
        old, new = d.numbers[name]
        title = html.escape(f"{name}: {old} → {new}", quote=True)
        return f'[~~{old}~~ → {new}]{{.num-changed data-name="{name}" title="{title}"}}'

    text = NUMBER.sub(number, b.paper)
    for name, cells in d.cells_of(True).items():
        table = b.tables[name].rstrip()
        if table and table in text:
            text = text.replace(table, _mark_table(table, cells).rstrip())
    return text


def _code(value: str) -> str:
    """A config value as inline code (backticks inside it doubled around)."""
    return f"`` {value} ``" if "`" in value else f"`{value}`"


def config_section(d: Diff, language: str) -> list[str]:
    """The config parameters that differ, first on the page; across two languages, a note that
    only numbers and verdicts were compared."""
    lines = [f"## {_t('config', language)}", ""]
    lines += [f"- `{key}`: {_code(old)} → {_code(new)}" for key, old, new in d.config] or [
        f"- {_t('none', language)}"
    ]
    lines.append("")
    if d.languages:
        lines += [_t("languages", language, a=d.languages[0], b=d.languages[1]), ""]
    return lines


def cells_section(b: Snapshot, d: Diff, language: str, significant: bool = True) -> list[str]:
    """The changed table cells (significant, or within noise), table by table, each with its
    row and column header."""
    lines = ["", f"## {_t('cells', language)}", ""] if significant else [""]
    chosen = d.cells_of(significant)
    for name, cells in chosen.items():
        header = (table_cells(b.tables.get(name, "")) or [[]])[0]
        lines.append(f"- *{name}*: {len(cells)}")
        lines += [
            f"    - {_t('cell', language, row=i, col=header[j] if j < len(header) else j + 1)}: "
            f"~~{old}~~ → {new}"
            for i, j, old, new in cells
        ]
    if not chosen:
        lines.append(f"- {_t('none', language)}")
    return lines


def noise_section(b: Snapshot, d: Diff, language: str) -> list[str]:
    """The changes within noise, folded away (a <details> block the reader opens)."""
    quiet = {k: v for k, v in d.numbers.items() if k in d.noise_numbers}
    n_cells = sum(len(v) for v in d.noise_cells.values())
    lines = [
        "",
        "<details>",
        f"<summary>{_t('noise', language, n=len(quiet), c=n_cells)}</summary>",
        "",
    ]
    lines += [f"- `{name}`: ~~{old}~~ → {new}" for name, (old, new) in quiet.items()] or [
        f"- {_t('none', language)}"
    ]
    if not d.languages:
        lines += cells_section(b, d, language, significant=False)
    return [*lines, "", "</details>"]


def report_markdown(
    a: Snapshot, b: Snapshot, d: Diff, language: str, side_by_side: list[str] = ()
) -> str:
    """The head of diff.html: summary, changed config (the cause), then of the results the
    flipped verdicts first, the significant changes of numbers and cells, the changes within
    noise (folded); then the paper with the significant changes marked."""
    from lnpaper.report.labels import label

    lines = [
        f"**{d.summary(language)}**",
        "",
        _t("builds", language, a=a.label, b=b.label),
        "",
        *config_section(d, language),
        f"## {_t('verdicts', language)}",
        "",
    ]
    lines += [
        f"- `{cid}` {claim}: ~~{label(old, language)}~~ → **{label(new, language)}**"
        for cid, claim, old, new in d.verdicts
    ] or [f"- {_t('none', language)}"]
    lines += ["", f"## {_t('numbers', language)}", ""]
    lines += [
        f"- `{name}`: ~~{old}~~ → [{new}]{{.num-changed}}"
        for name, (old, new) in d.significant_numbers.items()
    ] or [f"- {_t('none', language)}"]
    if not d.languages:  # across languages the cells differ by translation: not compared
        lines += cells_section(b, d, language)
    lines += noise_section(b, d, language)
    lines += [*side_by_side, "", "---", "", f"## {_t('paper', language)}", "", marked_paper(b, d)]
    return "\n".join(lines) + "\n"


def write_diff(
    a: Snapshot, b: Snapshot, out: Path, language: str = "vi", side_by_side: list[str] = ()
) -> Diff:
    """Compute the diff and write it as a self-contained HTML page; returns the diff.
    ``side_by_side``: Markdown lines of every build's values (``diff_many``), for more than two."""
    d = compute(a, b)
    md = report_markdown(a, b, d, language, list(side_by_side))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the figures are embedded from the newer build's folders, so the page is self-contained
    import os

    resources = [*b.extra.get("resources", []), str(out.parent)]
    args = pandoc_args(language, _t("title", language))
    args.append(f"--resource-path={os.pathsep.join(resources)}")
    pandoc_html(md, out, STYLE, out.parent, args)
    return d
