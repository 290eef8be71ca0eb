"""Check the manuscript's text files before anything is filled: the templates
(``manuscript/paper.<lang>.md``), the front files' title and abstract
(``manuscript/front.<lang>.yaml``, the abstract written like a template), the captions
(``manuscript/captions.yaml``) and the report's wording (``src/lnpaper/report/text.yaml``).

Every placeholder and block of a template must be one the fill step knows (see ``fill``), name a
number, table, figure, experiment or claim that exists, and be closed. A typo is an error that
names the file and line, never a note in the published paper or a silent omission; only a table
or figure of an experiment switched off in the config becomes a note (``fill``).
"""

from __future__ import annotations

import difflib
import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

from lnpaper.pipeline import registry
from lnpaper.pipeline.inputs import InputError


class TemplateError(InputError):
    """A manuscript text file the fill step cannot use; one line: ``file:line: what``."""


PLACEHOLDER = re.compile(r"\{\{([^{}\n]*)\}\}")
COMMENT_OPEN, COMMENT_CLOSE = "<!--", "-->"
CLAIM_OPEN = re.compile(r"#claim (\S+) ([a-z_]+(?:\|[a-z_]+)*)")
FORMS = (
    "num:Name",
    "table:name",
    "figure:name",
    "ref:table:name",
    "ref:figure:name",
    "claim:id",
    "claims:verdict",
    "env:Name",
    "list:Name",
    "supplement",
    "#requires ...",
    "/requires",
    "#claim id verdict",
    "/claim",
    "#when comparison outcome",
    "/when",
    "#quote",
    "/quote",
)
KINDS = ["num", "table", "figure", "ref", "claim", "claims", "env", "list", "supplement"]
# placeholders that stand on a line of their own (a table, a figure, the supplement's start)
OWN_LINE = ("table", "figure", "supplement")


@dataclass(frozen=True)
class Names:
    """What a template may refer to."""

    numbers: frozenset[str]
    tables: frozenset[str]
    figures: frozenset[str]
    experiments: frozenset[str]
    claims: frozenset[str]
    verdicts: frozenset[str]
    lists: frozenset[str] = frozenset()


@functools.cache
def known_names() -> Names:
    """The names the pipeline defines: numbers.py, the registry, the claim rules."""
    from lnpaper.manuscript.conditions import LISTS, RESULT_LISTS
    from lnpaper.report import claims  # noqa: F401  (registers the claim rules)
    from lnpaper.report.numbers import SPEC
    from lnpaper.report.verdicts import CLAIMS, VERDICTS

    return Names(
        numbers=frozenset(n.name for n in SPEC),
        tables=frozenset([*registry.TABLES, "claims", *registry.DERIVED_TABLES]),
        figures=frozenset(registry.FIGURES),
        experiments=frozenset(registry.EXPERIMENTS),
        claims=frozenset(c.claim_id for c in CLAIMS),
        verdicts=frozenset(VERDICTS),
        lists=frozenset([*LISTS, *RESULT_LISTS]),
    )


def _guess(word: str, options) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def blank_comments(text: str, source: str = "template") -> str:
    """``text`` with every ``<!-- ... -->`` turned into spaces (newlines kept), so offsets and
    line numbers stay those of the file; an unclosed comment is an error."""
    out, pos = [], 0
    while (start := text.find(COMMENT_OPEN, pos)) >= 0:
        end = text.find(COMMENT_CLOSE, start + len(COMMENT_OPEN))
        if end < 0:
            line = text.count("\n", 0, start) + 1
            raise TemplateError(
                f"{source}:{line}: comment '<!--' is never closed ('-->' missing): the rest of "
                f"the file would be dropped or published raw"
            )
        end += len(COMMENT_CLOSE)
        out += [text[pos:start], re.sub(r"[^\n]", " ", text[start:end])]
        pos = end
    return "".join(out) + text[pos:]


def template_problems(text: str, source: str = "template", names: Names | None = None) -> list[str]:
    """One line (``source:line: what``) per problem of a template, in file order."""
    names = names or known_names()
    try:
        body = blank_comments(text, source)
    except TemplateError as err:
        return [str(err)]
    problems: list[str] = []
    open_blocks: list[tuple[str, str, int]] = []  # (kind, placeholder, line)
    supplement_at: int | None = None

    def at(offset: int) -> int:
        return body.count("\n", 0, offset) + 1

    def bad(offset: int, what: str) -> None:
        problems.append(f"{source}:{at(offset)}: {what}")

    for m in PLACEHOLDER.finditer(body):
        inner, pos, shown = m.group(1), m.start(), m.group(0)
        kind, _, name = inner.partition(":")
        end = body.find("\n", pos)
        line_text = body[body.rfind("\n", 0, pos) + 1 : end if end >= 0 else len(body)]
        if kind in OWN_LINE and line_text.strip() != shown:
            bad(pos, f"{shown} must stand on a line of its own")
        if (kind in NAMED and name) or kind in ("env", "claims", "ref"):
            whats = _inline_problems(kind, name, shown, names)
        elif inner == "supplement":
            first = supplement_at
            whats = [f"{shown} appears twice (first on line {first})"] if first else []
            supplement_at = at(pos)
        elif inner.startswith(("#requires", "#claim")):
            block = "requires" if inner.startswith("#requires") else "claim"
            check = _requires_problems if block == "requires" else _claim_problems
            for what in check(inner, shown, names):
                bad(pos, what)
            whats = []
            _open(open_blocks, block, shown, at(pos), bad, pos)
        elif inner.startswith(("#when", "#quote")):
            block = "when" if inner.startswith("#when") else "quote"
            if block == "when":
                from lnpaper.manuscript.conditions import head_problems

                for what in head_problems(inner, names.numbers):
                    bad(pos, what)
            elif inner != "#quote":
                bad(pos, f"malformed {shown}; allowed: {{{{#quote}}}}")
            whats = []
            _open(open_blocks, block, shown, at(pos), bad, pos)
        elif inner in ("/requires", "/claim", "/when", "/quote"):
            whats = _close(open_blocks, inner[1:], shown)
        else:
            forms = ", ".join("{{" + f + "}}" for f in FORMS)
            guess = _guess(kind, KINDS)
            whats = [f"unknown placeholder {shown}{guess}; allowed: {forms}"]
        for what in whats:
            bad(pos, what)
    return problems + _unclosed_problems(body, source, at, open_blocks)


# placeholder kind -> (the word its messages use, the Names field that lists the known names)
NAMED = {
    "num": ("number", "numbers"),
    "table": ("table", "tables"),
    "figure": ("figure", "figures"),
    "claim": ("claim", "claims"),
    "list": ("list", "lists"),
}


def _inline_problems(kind: str, name: str, shown: str, names: Names) -> list[str]:
    """Problems of a named placeholder (``{{num:Name}}``, ``{{env:Name}}``,
    ``{{claims:verdict}}``, ``{{ref:table:name}}``...)."""
    if kind in NAMED:
        return _unknown_name(kind, name, shown, names)
    if kind == "env":
        from lnpaper.manuscript.environment import NAMES

        return [] if name in NAMES else [f"unknown value {shown}{_guess(name, NAMES)}"]
    if kind == "claims":
        ok = name in names.verdicts
        return [] if ok else [f"unknown verdict in {shown}; allowed: {sorted(names.verdicts)}"]
    what = _requirement_problem(name, names) if name.count(":") == 1 else "malformed"
    return [f"{shown}: {what}; allowed: {{{{ref:table:name}}}}"] if what else []


def _unknown_name(kind: str, name: str, shown: str, names: Names) -> list[str]:
    known = getattr(names, NAMED[kind][1])
    if name in known:
        return []
    where = "; numbers are defined in src/lnpaper/report/numbers.py" if kind == "num" else ""
    return [f"unknown {NAMED[kind][0]} {shown}{_guess(name, known)}{where}"]


def _requires_problems(inner: str, shown: str, names: Names) -> list[str]:
    tokens = inner[len("#requires") :].split()
    out = []
    if not tokens or not inner.startswith("#requires "):
        out.append(f"{shown} lists nothing it requires (e.g. {{{{#requires matmul}}}})")
    for tok in tokens:
        why = _requirement_problem(tok, names)
        if why:
            out.append(f"{shown}: {why}")
    return out


def _claim_problems(inner: str, shown: str, names: Names) -> list[str]:
    cm = CLAIM_OPEN.fullmatch(inner)
    if not cm:
        return [f"malformed {shown}; allowed: {{{{#claim <id> <verdict>[|<verdict>]}}}}"]
    cid, said = cm.group(1), cm.group(2).split("|")
    out = []
    if cid not in names.claims:
        out.append(f"unknown claim '{cid}' in {shown}{_guess(cid, names.claims)}")
    allowed = ", ".join(sorted(names.verdicts))
    out += [
        f"unknown verdict '{v}' in {shown}; allowed: {allowed}"
        for v in said
        if v not in names.verdicts
    ]
    return out


def _close(open_blocks: list[tuple[str, str, int]], kind: str, shown: str) -> list[str]:
    """Close the innermost block when it is a ``kind`` block, else say what is wrong."""
    if open_blocks and open_blocks[-1][0] == kind:
        open_blocks.pop()
        return []
    opened = f" (the open block is {open_blocks[-1][1]})" if open_blocks else ""
    return [f"{shown} closes no {{{{#{kind} ...}}}} block{opened}"]


def _unclosed_problems(body: str, source: str, at, open_blocks) -> list[str]:
    """Placeholders never closed (what is left of "{{" once every placeholder is taken out),
    in line order, then the blocks left open."""
    unclosed = []
    rest = PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), body)
    for m in re.finditer(r"\{\{", rest):
        snippet = rest[m.start() : m.start() + 40].split()[0]
        unclosed.append(
            (at(m.start()), f"placeholder '{snippet}' is never closed ('}}}}' missing)")
        )
    problems = [f"{source}:{line}: {what}" for line, what in sorted(unclosed)]
    for kind, shown, line in open_blocks:
        problems.append(
            f"{source}:{line}: block {shown} is never closed ({{{{/{kind}}}}} missing): its "
            f"text would be published raw"
        )
    return problems


def _requirement_problem(token: str, names: Names) -> str | None:
    kind, sep, name = token.partition(":")
    if not sep:
        if token in names.experiments:
            return None
        return f"unknown experiment '{token}'{_guess(token, names.experiments)}"
    known = {"table": names.tables, "figure": names.figures}.get(kind)
    if known is None:
        return f"'{token}' is neither an experiment nor table:<name> / figure:<name>"
    if name not in known:
        return f"unknown {kind} '{name}'{_guess(name, known)}"
    return None


def _open(stack, kind, shown, line, bad, pos) -> None:
    if any(k == kind for k, _, _ in stack):
        outer = next(s for k, s, _ in stack if k == kind)
        bad(pos, f"{shown} opens inside {outer}: blocks of one kind do not nest")
    stack.append((kind, shown, line))


def check_template(text: str, source: str = "template", names: Names | None = None) -> None:
    """Raise ``TemplateError`` with the first problem (and how many more) of a template."""
    problems = template_problems(text, source, names)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TemplateError(problems[0] + more)


# ---------------------------------------------------------------- YAML text files


def _compose(text: str, source: str):
    """The YAML node tree of ``text`` (line numbers kept); one-line error when it is not YAML."""
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark else "1"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise TemplateError(f"{source}:{line}: not valid YAML ({problem})") from None


def _pairs(node, source: str, what: str):
    if not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1 if node is not None else 1
        raise TemplateError(f"{source}:{line}: {what} must be a mapping")
    return [(k.value, k, v) for k, v in node.value]


LANGUAGES = ("vi", "en")


def _texts_by_language(node, source: str, where: str) -> dict[str, str]:
    """A ``{vi: ..., en: ...}`` entry: both languages, strings, no other key."""
    out = {}
    for lang, knode, vnode in _pairs(node, source, where):
        line = knode.start_mark.line + 1
        if lang not in LANGUAGES:
            raise TemplateError(
                f"{source}:{line}: {where}: unknown language '{lang}'{_guess(lang, LANGUAGES)}; "
                f"allowed: {', '.join(LANGUAGES)}"
            )
        if not isinstance(vnode, yaml.ScalarNode):
            raise TemplateError(f"{source}:{line}: {where}.{lang} must be text")
        out[lang] = vnode.value
    missing = [lang for lang in LANGUAGES if lang not in out]
    if missing:
        raise TemplateError(
            f"{source}:{node.start_mark.line + 1}: {where} has no '{missing[0]}' text"
        )
    return out


def check_captions(text: str, source: str = "manuscript/captions.yaml") -> None:
    """Every key names a table or figure of the registry (``table:<name>`` / ``figure:<name>``)
    with a caption in each language."""
    names = known_names()
    root = _compose(text, source)
    if root is None:
        return
    for key, knode, vnode in _pairs(root, source, "the captions file"):
        line = knode.start_mark.line + 1
        kind, _, name = key.partition(":")
        known = {"table": names.tables, "figure": names.figures}.get(kind)
        if known is None:
            raise TemplateError(
                f"{source}:{line}: caption key '{key}' must be table:<name> or figure:<name>"
            )
        if name not in known:
            raise TemplateError(
                f"{source}:{line}: caption of unknown {kind} '{name}'{_guess(name, known)}"
            )
        _texts_by_language(vnode, source, key)


def _fields(template: str, source: str, line: int, where: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise TemplateError(f"{source}:{line}: {where}: malformed {{field}} ({exc})") from None


def check_text_file(text: str, source: str = "src/lnpaper/report/text.yaml") -> None:
    """Valid YAML, a mapping of sections; every entry written in both languages uses the same
    ``{fields}`` in each (a misspelt field in one language would fail only in that language)."""
    root = _compose(text, source)

    def walk(node, where: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        keys = {k.value for k, _ in node.value}
        if (
            keys
            and keys <= set(LANGUAGES)
            and all(isinstance(v, yaml.ScalarNode) for _, v in node.value)
        ):
            by_lang = _texts_by_language(node, source, where)
            line = node.start_mark.line + 1
            vi, en = (_fields(by_lang[lang], source, line, where) for lang in LANGUAGES)
            if vi != en:
                odd = sorted(vi ^ en)[0]
                raise TemplateError(
                    f"{source}:{line}: {where}: field {{{odd}}} is in one language only "
                    f"(vi: {sorted(vi)}, en: {sorted(en)})"
                )
            return
        for k, v in node.value:
            walk(v, f"{where}.{k.value}" if where else k.value)

    _pairs(root, source, "the text file")
    walk(root, "")


# what every front file (manuscript/front.<lang>.yaml) must give, each a text
FRONT_REQUIRED = ("title", "abstract")


def front_problems(text: str, source: str) -> list[str]:
    """What a front file lacks (``source: what``), then the abstract's template problems."""
    from lnpaper.manuscript.front import abstract_markup

    try:
        meta = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        return [f"{source}: not YAML ({' '.join(str(err).split())})"]
    if not isinstance(meta, dict):
        return [f"{source}: not a mapping of fields"]
    missing = [k for k in FRONT_REQUIRED if not isinstance(meta.get(k), str) or not meta[k].strip()]
    if missing:
        return [f"{source}: no {k} (a text field)" for k in missing]
    return template_problems(abstract_markup(text), source)


def check_front(text: str, source: str) -> None:
    """``TemplateError`` (one line) at a front file's first problem."""
    problems = front_problems(text, source)
    if problems:
        raise TemplateError(problems[0])


def check_manuscript(root: str | Path, language: str) -> None:
    """The template of ``language``, its front file (title, abstract), the captions and the
    report's text file of a checkout; raises ``TemplateError`` (one line) at the first problem."""
    root = Path(root)
    text_file = Path(__file__).resolve().parents[1] / "report" / "text.yaml"
    for rel, check in (
        ("src/lnpaper/report/text.yaml", check_text_file),
        ("manuscript/captions.yaml", check_captions),
        (f"manuscript/front.{language}.yaml", check_front),
        (f"manuscript/paper.{language}.md", check_template),
    ):
        path = text_file if rel.endswith("text.yaml") else root / rel
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"{rel}: cannot read ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise TemplateError(f"{rel}: not UTF-8 text (byte {exc.start})") from None
        check(content, rel)
