"""Fill ``manuscript/paper.<lang>.md``: numbers, tables and figures by name, provenance traces,
blocks kept only when what they require is built, and numbers.json.

The template refers to everything by name only:
- ``{{num:MatmulRateNormalOne}}``: a number from numbers.py (its formatted text);
- ``{{table:scale_behavior}}`` / ``{{figure:matmul_norms}}`` on a line of their own: the table or
  figure with its caption (manuscript/captions.yaml) and a provenance trace (rule, config hash,
  git commit, MLflow run id);
- ``{{supplement}}`` on a line of its own: the main text ends, the supplement (the full tables,
  on landscape pages in the PDF) starts;
- ``{{#requires matmul table:claims}} ... {{/requires}}``: text kept only when every listed
  experiment, table or figure is part of the build;
- ``{{list:Name}}``, ``{{#when ...}} ... {{/when}}``, ``{{#quote}} ... {{/quote}}``: config sets,
  sentences bound to a comparison of measured intervals, quotations of the article
  (``conditions``); a ``{{num:Name}}`` left without a value stops the fill (``MissingNumber``);
- ``{{ref:table:x}}`` / ``{{ref:figure:x}}``: "Table 3" / "Hình 2", the number the table or
  figure gets in order of appearance, which its caption carries too (``numbering``);
- ``{{env:Name}}``: a value of the machine the paper was built on (``environment``);
- ``{{claims:verdict}}``: the statements of every claim the claims table gives that verdict;
- ``{{claim:ID}}``: the verdict the claims table gives claim ID (localized word);
- ``{{#claim ID holds}} ... {{/claim}}``: a sentence asserting claim ID with that verdict (one
  or more verdicts separated by ``|``). Consecutive blocks of one claim are its variants: the one
  matching the claims table is kept, the others dropped; when no variant matches, the build stops
  with ``ClaimMismatch`` naming the sentence (see ``bind_claims``).
Whatever belongs to an experiment switched off in the config is replaced by a short note, never by
a broken reference. A placeholder or block that is misspelt, malformed, unclosed or names nothing
the pipeline defines stops the fill with ``TemplateError`` naming the file and line
(``lnpaper.manuscript.template``, also run when the workflow starts).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from lnpaper.manuscript.conditions import (
    COMMENT,
    RESULT_LISTS,
    bind_when,
    list_text,
    missing_number,
    strip_quotes,
    values_of,
)
from lnpaper.manuscript.environment import fill_env
from lnpaper.manuscript.numbering import labelled, numbering, resolve_refs
from lnpaper.manuscript.template import TemplateError, check_template
from lnpaper.pipeline import registry
from lnpaper.report.labels import texts

NOTES: dict = texts("manuscript_notes")  # report/text.yaml
SUPPLEMENT = "{{supplement}}"  # on a line of its own: the main text ends, the supplement starts

# the file that draws every figure (a relative link from results/manuscript/ to the repository)
FIGURE_SOURCE = "src/lnpaper/report/figures.py"
FIGURE_SOURCE_LINK = "../../" + FIGURE_SOURCE
# the MLflow UI of a local store (``mlflow ui`` serves it here by default)
LOCAL_UI = "http://127.0.0.1:5000"

DIRECTIVE = re.compile(r"\{\{(num|table|figure|list):([A-Za-z_]+)\}\}")
BLOCK = re.compile(r"\{\{#requires ([^}]*)\}\}(.*?)\{\{/requires\}\}", re.S)


def note(key: str, language: str, **kw) -> str:
    return NOTES[key].get(language, NOTES[key]["en"]).format(**kw)


@dataclass
class Build:
    """What this build contains and who made it: the inputs of the fill step."""

    config: dict
    language: str
    numbers: pd.DataFrame  # numbers.parquet: name, value, text, ...
    tables: dict[str, str]  # enabled table -> its Markdown
    captions: dict[str, dict[str, str]]  # "table:x" / "figure:x" -> {vi, en}
    traces: dict[str, dict[str, str]]  # step -> {rule, config_hash, git_commit, mlflow_run_id}
    claims: dict[str, str] | None = None  # claim_id -> verdict (tables/claims.csv), if built
    ui: str = ""  # MLflow UI address + experiment ("" without tracking), see ``mlflow_ui``
    # tables/claims.csv when replicates ran (lnpaper.report.replication), else None
    replication: pd.DataFrame | None = None
    machine: dict | None = None  # the machine record (``reproduce.machine_record``): this one


# ---------------------------------------------------------------- provenance


def trace(step: str, manifest: dict | None, tracking: dict | None, git: dict) -> dict[str, str]:
    """rule, config hash, git commit and MLflow run id of one step ("untracked" without MLflow)."""
    run = (tracking or {}).get("steps", {}).get(step, {}).get("run_id", "untracked")
    commit = git.get("commit", "unknown")[:12]
    if git.get("dirty") == "true":
        commit += "+dirty"  # built from uncommitted changes
    return {
        "rule": step,
        "config_hash": (manifest or {}).get("params_hash", "unknown")[:12],
        "git_commit": commit,
        "mlflow_run_id": run,
    }


def mlflow_ui(tracking: dict | None, ui_url: str = "") -> str:
    """``<UI address>/#/experiments/<id>``: ``ui_url`` (config ``mlflow.ui_url``) when set, else
    the server itself when the store is a server, the local ``mlflow ui`` otherwise; "" for an
    untracked build. Never with userinfo: the paper is published."""
    from lnpaper.pipeline.credentials import redact

    if not tracking or not tracking.get("experiment_id"):
        return ""
    uri = redact(str(tracking.get("tracking_uri", "")))
    base = ui_url or (uri if uri.startswith(("http://", "https://")) else LOCAL_UI)
    return f"{redact(base).rstrip('/')}/#/experiments/{tracking['experiment_id']}"


def run_url(ui: str, run_id: str) -> str:
    return f"{ui}/runs/{run_id}" if ui and run_id and run_id != "untracked" else ""


def hover(t: dict[str, str], language: str, source: str = "") -> str:
    """The hover title of a number, table or figure: where it comes from and which run made it."""
    parts = [f"{note('source', language)}: {source}"] if source else []
    parts += [
        f"{note('step', language)}: {t['rule']}",
        f"{note('config', language)}: {t['config_hash']}",
        f"commit: {t['git_commit']}",
        f"MLflow: {t['mlflow_run_id']}",
    ]
    return " · ".join(parts)


def _attr(text: str) -> str:
    """Text safe inside a pandoc attribute value ``title="..."``."""
    return text.replace('"', "'")


def trace_text(t: dict[str, str], language: str, ui: str = "") -> str:
    run = t["mlflow_run_id"]
    url = run_url(ui, run)
    run = note("untracked", language) if run == "untracked" else run
    shown = f"[`{run}`]({url})" if url else f"`{run}`"
    return (
        f"{note('trace', language)}: `{t['rule']}` · {note('config', language)} "
        f"`{t['config_hash']}` · commit `{t['git_commit']}` · MLflow {shown}"
    )


# ---------------------------------------------------------------- availability


def status(kind: str, name: str, config: dict) -> tuple[bool, str]:
    """(available, reason) of a table or figure under this config."""
    if kind == "table" and name in registry.DERIVED_TABLES:
        return status("table", registry.DERIVED_TABLES[name], config)
    if kind == "table":
        known = name in registry.TABLES or name == "claims"
        on = name in registry.enabled_tables(config)
    else:
        known = name in registry.FIGURES
        on = name in registry.enabled_figures(config)
    if on:
        return True, ""
    if not known:
        return False, "absent"
    sources = registry.TABLES.get(name, []) if kind == "table" else registry.FIGURES[name]
    off = sorted(
        {registry.experiment_of(s) for s in sources} - set(registry.enabled_experiments(config))
    )
    return False, ", ".join(f"`{e}`" for e in off) or "?"


def requirement_met(token: str, config: dict) -> bool:
    if ":" in token:
        kind, name = token.split(":", 1)
        return status(kind, name, config)[0]
    return token in registry.enabled_experiments(config)


# ---------------------------------------------------------------- filling the template


def _caption(build: Build, kind: str, name: str, numbers: dict[str, int] | None = None) -> str:
    """The caption in the build's language, its number in front ("Table 3: ...")."""
    text = build.captions.get(f"{kind}:{name}", {})
    caption = text.get(build.language) or text.get("en") or name
    return labelled(caption, kind, name, numbers or {}, build.language)


def trace_short(t: dict[str, str], language: str, ui: str = "") -> str:
    """The trace a caption of the main text shows: a link to the run, no identifiers (its
    step, config hash and commit are in the hover title, and in full in the supplement)."""
    url = run_url(ui, t["mlflow_run_id"])
    return f"{note('trace', language)}: [MLflow]({url})" if url else note("trace", language)


def _table_block(
    build: Build, name: str, numbers: dict[str, int] | None = None, main: bool = False
) -> str:
    ok, why = status("table", name, build.config)
    if why == "absent":  # check_template names it with its line first
        raise TemplateError(f"unknown table {{{{table:{name}}}}}")
    if not ok:
        return f"> {note('table_off', build.language, name=name, exps=why)}"
    step = f"table_{registry.DERIVED_TABLES.get(name, name)}"
    tr = build.traces[step]
    t = (trace_short if main else trace_text)(tr, build.language, build.ui)
    title = _attr(hover(tr, build.language))
    return (
        f"{build.tables[name].rstrip()}\n\n: {_caption(build, 'table', name, numbers)} "
        f'[{t}]{{.trace title="{title}"}}'
    )


def _figure_block(
    build: Build, name: str, ext: str, numbers: dict[str, int] | None = None, main: bool = False
) -> str:
    ok, why = status("figure", name, build.config)
    if why == "absent":  # check_template names it with its line first
        raise TemplateError(f"unknown figure {{{{figure:{name}}}}}")
    if not ok:
        return f"> {note('figure_off', build.language, name=name, exps=why)}"
    tr = build.traces[f"figure_{name}"]
    title = _attr(hover(tr, build.language, FIGURE_SOURCE))
    if main:  # the main text shows no identifiers: the code is named in the hover title
        short = trace_short(tr, build.language, build.ui)
        return (
            f'![{_caption(build, "figure", name, numbers)} [{short}]{{.trace title="{title}"}}]'
            f'(figures/{name}.{ext}){{#fig:{name} width=3.5in title="{title}"}}'
        )
    t = trace_text(tr, build.language, build.ui)
    code = f"{note('drawn_by', build.language)} [`{FIGURE_SOURCE}`]({FIGURE_SOURCE_LINK})"
    return (
        f'![{_caption(build, "figure", name, numbers)} [{t} · {code}]{{.trace title="{title}"}}]'
        f'(figures/{name}.{ext}){{#fig:{name} width=3.5in title="{title}"}}'
    )


def _number(build: Build, name: str, context: str = "") -> str:
    """A quoted number with its trace; ``MissingNumber`` (naming the number, why it has no
    value and ``context``, its sentence) when the build has none: the prose prints no dash."""
    rows = build.numbers[build.numbers["name"] == name]
    from lnpaper.report.numbers import SPEC

    if not any(n.name == name for n in SPEC):  # check_template names it with its line first
        raise TemplateError(f"unknown number {{{{num:{name}}}}}")
    if len(rows) == 0 or not math.isfinite(float(rows.iloc[0]["value"])):
        raise missing_number(name, build.numbers, context)
    r = rows.iloc[0]
    step = str(r.get("step", "numbers"))
    tr = build.traces.get(step) or trace(step, None, None, {})
    title = _attr(hover(tr, build.language, str(r.get("file", ""))))
    url = run_url(build.ui, tr["mlflow_run_id"])
    attrs = f'{{.num data-name="{name}" title="{title}"}}'
    # a span holding the link: the span carries the name and the title, the link the run
    return f"[[{r['text']}]({url})]{attrs}" if url else f"[{r['text']}]{attrs}"


def resolved(template: str, build: Build) -> str:
    """The template with its blocks resolved (requires, claim and comparison variants,
    quotations), its directives still in place."""

    def block(m):
        missing = [tok for tok in m.group(1).split() if not requirement_met(tok, build.config)]
        if not missing:
            return m.group(2)
        what = ", ".join(f"`{tok}`" for tok in missing)
        return f"\n> {note('block_off', build.language, what=what)}\n"

    text = BLOCK.sub(block, COMMENT.sub("", template))  # comments are notes to authors
    text = bind_claims(text, build.claims, build.language, build.replication)
    return strip_quotes(bind_when(text, values_of(build.numbers)))


def shown_numbering(template: str, build: Build) -> dict[str, int]:
    """``"table:x"`` / ``"figure:x"`` -> the number the paper gives it (``numbering``)."""
    text = resolved(template, build)
    return numbering(text, lambda kind, name: status(kind, name, build.config)[0])


def fill(
    template: str,
    build: Build,
    figure_ext: str = "png",
    source: str = "template",
    typst: bool = False,
) -> str:
    """The template with every directive replaced (see the module docstring); ``source`` names
    the template in a ``TemplateError``; ``typst``: the text is for the Typst PDF, whose
    supplement starts with a raw Typst block (page layout), which no other format shows."""
    check_template(template, source)
    text = resolved(template, build)
    # tables and figures numbered as shown (main text, then supplement); references resolved
    numbers = numbering(text, lambda kind, name: status(kind, name, build.config)[0])
    text = fill_env(resolve_refs(text, numbers, build.language), build.machine)

    def directive(m):
        kind, name = m.groups()
        if kind == "num":
            start = max(m.string.rfind(". ", 0, m.start()) + 2, m.start() - 80)
            return _number(build, name, m.string[start : m.end() + 20])
        if kind == "list" and name in RESULT_LISTS:
            from lnpaper.report import replication

            table = build.replication if build.replication is not None else pd.DataFrame()
            text_of = {
                "FragileClaims": replication.fragile_text,
                "KernelPaths": replication.kernel_paths_text,
                "KernelFragileClaims": replication.kernel_fragile_text,
            }[name]
            return text_of(table, build.language)
        if kind == "list":
            return list_text(name, build.config, build.language)
        main = SUPPLEMENT not in m.string[: m.start()]
        if kind == "table":
            return _table_block(build, name, numbers, main)
        return _figure_block(build, name, figure_ext, numbers, main)

    text = DIRECTIVE.sub(directive, text)
    return text.replace(SUPPLEMENT, supplement_start(build.language, typst))


def supplement_start(language: str, typst: bool = False) -> str:
    """The supplement's heading; for the Typst PDF after a block that starts it on a new
    landscape page."""
    from lnpaper.manuscript.render import SUPPLEMENT_TYPST

    heading = f"# {note('supplement', language)} {{#supplement-start .unnumbered}}"
    return f"{SUPPLEMENT_TYPST}\n\n{heading}" if typst else heading


def referenced(template: str, kind: str) -> list[str]:
    """Names of the numbers / tables / figures a template refers to, in order of first use."""
    seen: dict[str, None] = {}
    for m in DIRECTIVE.finditer(COMMENT.sub("", template)):
        if m.group(1) == kind:
            seen.setdefault(m.group(2))
    return list(seen)


# ---------------------------------------------------------------- numbers.json


def numbers_json(numbers: pd.DataFrame, tracking: dict | None, git: dict) -> dict:
    """Every quoted number with its text, source file, producing step and MLflow run, and the
    table cell it is read from where it is one (``cell``: table, column, 0-based row)."""
    runs = (tracking or {}).get("steps", {})
    out = {}
    for r in numbers.itertuples():
        cell = getattr(r, "cell_column", "") or ""
        out[r.name] = {
            "value": None if math.isnan(r.value) else float(r.value),
            "text": r.text,
            "tex": r.tex,
            "source": r.source,
            "file": r.file,
            "step": r.step,
            "mlflow_run_id": runs.get(r.step, {}).get("run_id", "untracked"),
            **_uncertainty(r),
        }
        if cell:
            out[r.name]["cell"] = {
                "table": r.source.split(":", 1)[1],
                "column": cell,
                "row": int(r.cell_row),
            }
    return {
        "numbers": out,
        "order": list(numbers["name"]),
        "mlflow_build_run_id": (tracking or {}).get("build_run_id", "untracked"),
        "git_commit": git.get("commit", "unknown"),
        "git_dirty": git.get("dirty", "unknown"),
    }


def _uncertainty(r) -> dict:
    """A number's 95% half-width and standard error (null without an interval) and its printed
    decimals (null for a text without a number); absent in a numbers.parquet older than them."""
    if not hasattr(r, "se"):
        return {}

    def finite(v):
        return float(v) if v is not None and math.isfinite(float(v)) else None

    decimals = finite(r.decimals)
    return {
        "ci_half_width": finite(r.ci_half_width),
        "se": finite(r.se),
        "decimals": None if decimals is None else int(decimals),
    }


# ---------------------------------------------------------------- prose bound to verdicts

CLAIM_BLOCK = re.compile(r"\{\{#claim ([^\s}]+) ([a-z_|]+)\}\}(.*?)\{\{/claim\}\}", re.S)
CLAIM_INLINE = re.compile(r"\{\{claim:([^\s}]+)\}\}")
# every claim of one verdict, as the article states it: the conclusion lists what held and failed
CLAIM_LIST = re.compile(r"\{\{claims:([a-z_]+)\}\}")


class ClaimMismatch(ValueError):
    """The manuscript asserts a verdict that the claims table does not give."""


def read_claim_verdicts(csv_path) -> dict[str, str]:
    """claim_id -> verdict from ``tables/claims.csv``."""
    df = pd.read_csv(csv_path)
    return dict(zip(df["claim_id"].astype(str), df["verdict"].astype(str)))


def _sentence(text: str) -> str:
    """The block's text on one line, shortened, to name it in an error message."""
    one = " ".join(text.split())
    return one if len(one) <= 90 else one[:87] + "..."


def check_claim_blocks(template: str, claims: dict[str, str]) -> list[str]:
    """One message per claim whose variants in the text do not include the verdict of the
    claims table (claims absent from the table are not checked: their experiment is off)."""
    from lnpaper.report.verdicts import VERDICTS

    variants: dict[str, list[tuple[set[str], str]]] = {}
    errors = []
    for m in CLAIM_BLOCK.finditer(COMMENT.sub("", template)):
        cid, verdicts, body = m.group(1), set(m.group(2).split("|")), m.group(3)
        unknown = verdicts - set(VERDICTS)
        if unknown:
            errors.append(f"claim {cid}: unknown verdict {', '.join(sorted(unknown))}")
        variants.setdefault(cid, []).append((verdicts, body))
    for cid, vs in variants.items():
        actual = claims.get(cid)
        if actual is not None and not any(actual in v for v, _ in vs):
            said = "|".join(sorted(set().union(*(v for v, _ in vs))))
            errors.append(
                f'text asserts claim {cid} {said} in "{_sentence(vs[0][1])}", '
                f"but the claims table gives {actual}"
            )
    return errors


def bind_claims(
    text: str,
    claims: dict[str, str] | None,
    language: str,
    replication: pd.DataFrame | None = None,
) -> str:
    """Keep the variant of each claim block that matches the claims table, fill
    ``{{claim:ID}}``; raise ``ClaimMismatch`` (one line) when the text asserts another verdict.
    Without a claims table (not built), claim blocks are dropped and inline verdicts say n/a.
    With replicates (``replication``: the claims table), a fragile claim's inline verdict says
    what it is fragile to, e.g. "holds (fragile: 1 of 2 seeds)", "holds (fragile: 1 of 2 CPU
    kernel paths)"."""
    from lnpaper.report.claim_text import verdict_word
    from lnpaper.report.replication import fragile_flag, fragility

    fragile = fragility(replication) if replication is not None else {}

    table = claims or {}
    errors = check_claim_blocks(text, table)
    if errors:
        raise ClaimMismatch(errors[0] + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))

    def block(m):
        actual = table.get(m.group(1))
        return m.group(3) if actual in set(m.group(2).split("|")) else ""

    def inline(m):
        actual = table.get(m.group(1))
        word = verdict_word(actual, language) if actual else note("number_off", language)
        if m.group(1) in fragile:
            word += f" ({fragile_flag(fragile[m.group(1)], language)})"
        return f'[{word}]{{.claim data-claim="{m.group(1)}" data-verdict="{actual or ""}"}}'

    def listed(m):
        return claims_with(table, m.group(1), language)

    return CLAIM_LIST.sub(listed, CLAIM_INLINE.sub(inline, CLAIM_BLOCK.sub(block, text)))


def claims_with(claims: dict[str, str], verdict: str, language: str) -> str:
    """The statements of the claims with ``verdict`` (registry order), each quoted with its
    section of the article, joined by semicolons; the localized "none" when there is none."""
    from lnpaper.report import claims as _rules  # noqa: F401  (registers the rules)
    from lnpaper.report.verdicts import CLAIMS

    said = [
        f"“{c.text_vi if language == 'vi' else c.text_en}” (§{c.section})"
        for c in CLAIMS
        if claims.get(c.claim_id) == verdict
    ]
    return "; ".join(said) if said else note("no_claims", language)
