"""A corpus of bad manuscript inputs (the config corpus is pipeline/test_bad_configs.py):
templates, captions and text.yaml, checked by lnpaper.manuscript.template called directly. Each
ends in one line naming the file and line. The same check runs when the workflow starts; the
commands and Snakemake cases are in e2e/test_bad_inputs_snakemake.py."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from lnpaper.manuscript import template
from lnpaper.manuscript.template import TemplateError

EN = (ROOT / "manuscript/paper.en.md").read_text(encoding="utf-8")
SRC = "manuscript/paper.en.md"


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def edited(old: str, new: str) -> tuple[str, int]:
    """The English template with the first ``old`` after its opening note to authors (a comment)
    replaced, and the line of the change (``-->`` itself: the first one)."""
    start = 0 if old == "-->" else EN.index("-->")
    pos = EN.index(old, start)
    return EN[:pos] + new + EN[pos + len(old) :], EN[:pos].count("\n") + 1


# (id, template change (old, new), what the one line must say after "file:line: ")
# One case per line: the corpus reads as a table (long strings stay whole).
# fmt: off
TEMPLATE_CASES = [
    ("number-misspelt", ("{{num:MatmulSteps}}", "{{num:MatmulStep}}"), "unknown number {{num:MatmulStep}} (did you mean 'MatmulSteps'?)"),
    ("number-bad-characters", ("{{num:MatmulSteps}}", "{{num:Matmul-Steps}}"), "unknown number {{num:Matmul-Steps}}"),
    ("number-empty", ("{{num:MatmulSteps}}", "{{num:}}"), "unknown placeholder {{num:}}"),
    ("table-misspelt", ("{{table:scale_main}}", "{{table:scale_mian}}"), "unknown table {{table:scale_mian}} (did you mean 'scale_main'?)"),
    ("figure-misspelt", ("{{figure:matmul_norms}}", "{{figure:matmul_norm}}"), "unknown figure {{figure:matmul_norm}} (did you mean 'matmul_norms'?)"),
    ("table-inline", ("{{table:scale_main}}", "see {{table:scale_main}}"), "{{table:scale_main}} must stand on a line of its own"),
    ("kind-misspelt", ("{{num:MatmulSteps}}", "{{nmu:MatmulSteps}}"), "unknown placeholder {{nmu:MatmulSteps}} (did you mean 'num'?)"),
    ("placeholder-with-spaces", ("{{num:MatmulSteps}}", "{{ num:MatmulSteps }}"), "unknown placeholder {{ num:MatmulSteps }}"),
    ("placeholder-unclosed", ("{{num:MatmulSteps}}", "{{num:MatmulSteps}"), "placeholder '{{num:MatmulSteps}' is never closed"),
    ("supplement-misspelt", ("{{supplement}}", "{{suplement}}"), "unknown placeholder {{suplement}} (did you mean 'supplement'?)"),
    ("supplement-twice", ("{{figure:matmul_norms}}", "{{supplement}}"), "{{supplement}} appears twice"),
    ("requires-unknown-experiment", ("{{#requires layernorm_stats}}", "{{#requires layernorm_stat}}"), "unknown experiment 'layernorm_stat' (did you mean 'layernorm_stats'?)"),
    ("requires-unknown-table", ("{{#requires matmul}}", "{{#requires table:scale_mian}}"), "unknown table 'scale_mian'"),
    ("requires-bad-kind", ("{{#requires matmul}}", "{{#requires tabel:claims}}"), "'tabel:claims' is neither an experiment nor table:<name> / figure:<name>"),
    ("requires-empty", ("{{#requires matmul}}", "{{#requires}}"), "lists nothing it requires"),
    ("requires-unclosed", ("{{/requires}}", ""), "{{#requires layernorm_stats}} opens inside {{#requires matmul}}"),
    ("requires-stray-close", ("{{#requires matmul}}", ""), "{{/requires}} closes no"),
    ("claim-block-unknown-id", ("{{#claim 5.1-s-below-1-decays holds}}", "{{#claim 5.1-s-below-1-decay holds}}"), "unknown claim '5.1-s-below-1-decay'"),
    ("claim-block-unknown-verdict", ("{{#claim 5.1-s-below-1-decays holds}}", "{{#claim 5.1-s-below-1-decays hold}}"), "unknown verdict 'hold'"),
    ("claim-block-no-verdict", ("{{#claim 5.1-s-below-1-decays holds}}", "{{#claim 5.1-s-below-1-decays}}"), "malformed {{#claim 5.1-s-below-1-decays}}"),
    ("claim-block-unclosed", (r"\mathrm{LN}(M)$.{{/claim}}", r"\mathrm{LN}(M)$."), "{{#claim 5.1-layernorm-stabilises fails}} opens inside {{#claim 5.1-layernorm-stabilises holds}}"),
    ("claim-close-misspelt", (r"\mathrm{LN}(M)$.{{/claim}}", r"\mathrm{LN}(M)$.{{/claims}}"), "unknown placeholder {{/claims}}"),
    ("claim-inline-unknown", ("{{claim:", "{{claim:x"), "unknown claim {{claim:x"),
    ("supplement-not-alone", ("{{supplement}}", "See {{supplement}}"), "{{supplement}} must stand on a line of its own"),
    ("comment-unclosed", ("-->", ""), "comment '<!--' is never closed"),
]
# fmt: on


@pytest.mark.parametrize("case, change, expect", TEMPLATE_CASES, ids=[c[0] for c in TEMPLATE_CASES])
def test_template_typo_is_one_line_naming_file_and_line(case, change, expect):
    text, line = edited(*change)
    with pytest.raises(TemplateError) as err:
        template.check_template(text, SRC)
    msg = str(err.value)
    assert "\n" not in msg
    assert expect in msg, msg
    where = {  # named where the problem shows, which is not always the edited line
        "supplement-twice": lambda: line_of(EN, "\n{{supplement}}") + 1,
        "requires-stray-close": lambda: (
            line_of(text[text.index("-->") :], "{{/requires}}") + line_of(text, "-->") - 1
        ),
        "requires-unclosed": lambda: line_of(text, "{{#requires layernorm_stats}}"),
        "comment-unclosed": lambda: 1,
    }
    line = where[case]() if case in where else line
    assert msg.startswith(f"{SRC}:{line}: "), msg


def test_the_templates_as_written_pass_and_a_disabled_table_is_still_a_note():
    from lnpaper.manuscript import fill

    for lang in ("vi", "en"):
        path = ROOT / f"manuscript/paper.{lang}.md"
        assert template.template_problems(path.read_text(encoding="utf-8"), str(path)) == []
    # the one case that prints a note: a table of an experiment switched off in the config
    off = {e: {"enabled": e != "affine"} for e in fill.registry.EXPERIMENTS}
    import pandas as pd

    build = fill.Build(off, "en", pd.DataFrame({"name": []}), {}, {}, {})
    out = fill.fill("{{table:affine_grid}}", build)
    assert (
        out == "> Table *affine_grid* is left out: experiment `affine` is disabled in the config."
    )


# ---- captions.yaml and text.yaml

CAPTIONS = (ROOT / "manuscript/captions.yaml").read_text(encoding="utf-8")
TEXT = (ROOT / "src/lnpaper/report/text.yaml").read_text(encoding="utf-8")

# fmt: off
YAML_CASES = [
    ("captions-unknown-table", "captions", ("table:scale_behavior:", "table:scale_behaviour:"), "caption of unknown table 'scale_behaviour' (did you mean 'scale_behavior'?)"),
    ("captions-bad-kind", "captions", ("table:scale_behavior:", "tabel:scale_behavior:"), "caption key 'tabel:scale_behavior' must be table:<name> or figure:<name>"),
    ("captions-unknown-language", "captions", ("\n  en: ", "\n  eng: "), "unknown language 'eng' (did you mean 'en'?)"),
    ("captions-not-yaml", "captions", ("table:scale_behavior:", "table:scale_behavior: ["), "not valid YAML"),
    ("text-field-one-language", "text", ("en: 'Table *{name}*", "en: 'Table *{nme}*"), "field {n"),
    ("text-not-yaml", "text", ("manuscript_notes:", "manuscript_notes: ]"), "not valid YAML"),
]
# fmt: on


@pytest.mark.parametrize("case, which, change, expect", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_manuscript_yaml_typo_is_one_line_naming_file_and_line(case, which, change, expect):
    base, check, src = (
        (CAPTIONS, template.check_captions, "manuscript/captions.yaml")
        if which == "captions"
        else (TEXT, template.check_text_file, "src/lnpaper/report/text.yaml")
    )
    assert change[0] in base, change
    line = line_of(base, change[0]) + change[0][: change[0].index(change[0].strip()[0])].count("\n")
    with pytest.raises(TemplateError) as err:
        check(base.replace(change[0], change[1], 1), src)
    msg = str(err.value)
    assert "\n" not in msg and expect in msg, msg
    # the line of the entry, or where the YAML parser noticed: at most a few lines on
    named = re.match(rf"{re.escape(src)}:(\d+): ", msg)
    assert named and line - 2 <= int(named.group(1)) <= line + 2, (msg, line)
