"""A diff of the paper between two builds: ``lnpaper diff`` writes ``diff.html``, the newer paper
with every number whose value changed marked old -> new, the table cells that changed marked, the
claim verdicts that flipped listed at the top, and a one-line summary.

A build is read from a results-like folder: ``manuscript/numbers.parquet`` (the quoted numbers),
``tables/<name>.md`` (the tables as the paper shows them), ``tables/claims.csv`` (the verdicts),
and, for the newer build, ``manuscript/paper.md`` (the filled text). ``lnpaper diff`` makes such
folders from two results folders or from two builds logged in MLflow.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lnpaper.manuscript.render import pandoc_args, pandoc_html
from lnpaper.pipeline import io, registry
from lnpaper.report.labels import texts

TEXT: dict = texts("diff")  # report/text.yaml
STYLE = """<style>
.num-changed { background: #ffe08a; }
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


def _t(key: str, language: str, **kw) -> str:
    return TEXT[key].get(language, TEXT[key]["en"]).format(**kw)


@dataclass
class Snapshot:
    """What a build quotes: numbers (name -> (value, text)), tables (name -> Markdown), claims."""

    label: str
    numbers: dict[str, tuple[float, str]]
    tables: dict[str, str]
    claims: pd.DataFrame | None = None
    paper: str = ""
    extra: dict = field(default_factory=dict)


def load(folder: Path, label: str | None = None, language: str = "vi") -> Snapshot:
    """A build from a results-like folder (see the module docstring)."""
    folder = Path(folder)
    nums = io.read_parquet(folder / "manuscript" / "numbers.parquet")
    numbers = {r.name: (float(r.value), str(r.text)) for r in nums.itertuples()}
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
                tables[derived] = to_markdown(claims_summary(claims, language), language)
    paper = folder / "manuscript" / "paper.md"
    return Snapshot(
        label=label or str(folder),
        numbers=numbers,
        tables=tables,
        claims=claims,
        paper=paper.read_text(encoding="utf-8") if paper.exists() else "",
        # where the paper's figures (figures/<name>.png beside paper.md) are found
        extra={"resources": [str(folder / "manuscript")]},
    )


def _same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def changed_numbers(a: Snapshot, b: Snapshot) -> dict[str, tuple[str, str]]:
    """name -> (old text, new text) for every number whose value or printed text changed
    (a number only one build has counts as changed, with "–" on the other side)."""
    out = {}
    for name in sorted(set(a.numbers) | set(b.numbers)):
        va, ta = a.numbers.get(name, (math.nan, "–"))
        vb, tb = b.numbers.get(name, (math.nan, "–"))
        if not _same_value(va, vb) or ta != tb:
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
    ra, rb = table_cells(a_md), table_cells(b_md)
    out = []
    for i in range(1, max(len(ra), len(rb))):
        row_a = ra[i] if i < len(ra) else []
        row_b = rb[i] if i < len(rb) else []
        for j in range(max(len(row_a), len(row_b))):
            old = row_a[j] if j < len(row_a) else "–"
            new = row_b[j] if j < len(row_b) else "–"
            if old != new:
                out.append((i, j, old, new))
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
    numbers: dict[str, tuple[str, str]]
    verdicts: list[tuple[str, str, str, str]]
    cells: dict[str, list[tuple[int, int, str, str]]]

    def summary(self, language: str) -> str:
        n_cells = sum(len(c) for c in self.cells.values())
        return _t("summary", language, n=len(self.numbers), m=len(self.verdicts), c=n_cells)


def compute(a: Snapshot, b: Snapshot) -> Diff:
    cells = {}
    for name in sorted(set(a.tables) & set(b.tables)):
        found = changed_cells(a.tables[name], b.tables[name])
        if found:
            cells[name] = found
    return Diff(changed_numbers(a, b), flipped_verdicts(a, b), cells)


def marked_paper(b: Snapshot, d: Diff) -> str:
    """The newer paper's Markdown with changed numbers and table cells marked."""

    def number(m):
        name = m.group("name")
        if name not in d.numbers:
            return m.group(0)
        old, new = d.numbers[name]
        title = html.escape(f"{name}: {old} → {new}", quote=True)
        return f'[~~{old}~~ → {new}]{{.num-changed data-name="{name}" title="{title}"}}'

    text = NUMBER.sub(number, b.paper)
    for name, cells in d.cells.items():
        table = b.tables[name].rstrip()
        if table and table in text:
            text = text.replace(table, _mark_table(table, cells).rstrip())
    return text


def report_markdown(a: Snapshot, b: Snapshot, d: Diff, language: str) -> str:
    """The head of diff.html: summary, flipped verdicts, changed numbers and cells; then the
    paper with the changes marked."""
    from lnpaper.report.labels import label

    lines = [
        f"**{d.summary(language)}**",
        "",
        _t("builds", language, a=a.label, b=b.label),
        "",
        f"## {_t('verdicts', language)}",
        "",
    ]
    lines += [
        f"- `{cid}` {claim}: ~~{label(old, language)}~~ → **{label(new, language)}**"
        for cid, claim, old, new in d.verdicts
    ] or [f"- {_t('none', language)}"]
    lines += ["", f"## {_t('numbers', language)}", ""]
    lines += [
        f"- `{name}`: ~~{old}~~ → [{new}]{{.num-changed}}" for name, (old, new) in d.numbers.items()
    ] or [f"- {_t('none', language)}"]
    lines += ["", f"## {_t('cells', language)}", ""]
    for name, cells in d.cells.items():
        header = (table_cells(b.tables.get(name, "")) or [[]])[0]
        lines.append(f"- *{name}*: {len(cells)}")
        lines += [
            f"    - {_t('cell', language, row=i, col=header[j] if j < len(header) else j + 1)}: "
            f"~~{old}~~ → {new}"
            for i, j, old, new in cells
        ]
    if not d.cells:
        lines.append(f"- {_t('none', language)}")
    lines += ["", "---", "", f"## {_t('paper', language)}", "", marked_paper(b, d)]
    return "\n".join(lines) + "\n"


def write_diff(a: Snapshot, b: Snapshot, out: Path, language: str = "vi") -> Diff:
    """Compute the diff and write it as a self-contained HTML page; returns the diff."""
    d = compute(a, b)
    md = report_markdown(a, b, d, language)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the figures are embedded from the newer build's folders, so the page is self-contained
    import os

    resources = [*b.extra.get("resources", []), str(out.parent)]
    args = pandoc_args(language, _t("title", language))
    args.append(f"--resource-path={os.pathsep.join(resources)}")
    pandoc_html(md, out, STYLE, out.parent, args)
    return d
