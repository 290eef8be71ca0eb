"""Tables and figures numbered in the order the paper shows them, referred to by number
(``{{ref:table:x}}``), the same number on the caption in every output; every table and figure of
the main text referred to by number, every reference of the bibliography cited."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import ROOT
from lnpaper.manuscript import bundle, fill, numbering
from lnpaper.manuscript.render import TYPST_HEADER
from lnpaper.manuscript.template import template_problems
from lnpaper.pipeline import registry

ALL_ON = {e: {"enabled": True} for e in registry.EXPERIMENTS}
TRACE = {"rule": "x", "config_hash": "abc", "git_commit": "deadbeef", "mlflow_run_id": "r1"}


def numbered_build(config, language: str) -> fill.Build:
    names = ["affine_grid", "affine_main"]
    return fill.Build(
        config=config,
        language=language,
        numbers=pd.DataFrame([{"name": "Seed", "value": 42.0, "text": "42"}]),
        tables={t: f"| {t} |\n|---|\n| 1 |\n" for t in names},
        captions={
            "table:affine_grid": {"vi": "Lưới", "en": "Grid"},
            "table:affine_main": {"vi": "Chính", "en": "Main"},
            "figure:affine_grid": {"vi": "Hình lưới", "en": "Grid figure"},
            "figure:matmul_norms": {"vi": "Chuẩn", "en": "Norms"},
        },
        traces={f"{k}_{n}": TRACE for k in ("table", "figure") for n in [*names, "matmul_norms"]},
    )


TEMPLATE = (
    "See {{ref:table:affine_grid}} and {{ref:figure:affine_grid}}.\n\n"
    "{{figure:matmul_norms}}\n\n{{table:affine_main}}\n\n{{figure:affine_grid}}\n\n"
    "{{table:affine_grid}}\n"
)


def test_tables_and_figures_are_numbered_per_kind_in_order_and_refs_print_the_label():
    out = fill.fill(TEMPLATE, numbered_build(ALL_ON, "en"))
    assert out.startswith("See Table 2 and Figure 2.")
    assert ": Table 1: Main [" in out and ": Table 2: Grid [" in out
    assert "![Figure 1: Norms [" in out and "![Figure 2: Grid figure [" in out
    vi = fill.fill(TEMPLATE, numbered_build(ALL_ON, "vi"))
    assert vi.startswith("See Bảng 2 and Hình 2.") and "![Hình 1: Chuẩn [" in vi


def test_a_left_out_figure_gets_no_number_and_a_reference_to_it_stops_the_fill():
    off = {**ALL_ON, "matmul": {"enabled": False}}
    out = fill.fill(TEMPLATE, numbered_build(off, "en"))
    assert "![Figure 1: Grid figure [" in out and "See Table 2 and Figure 1." in out
    with pytest.raises(numbering.UnnumberedReference, match="matmul_norms"):
        fill.fill("{{ref:figure:matmul_norms}}\n\n" + TEMPLATE, numbered_build(off, "en"))


def test_the_template_check_names_a_bad_reference_environment_value_or_verdict_list():
    bad = "{{ref:table:nope}} {{ref:affine}} {{env:Nope}} {{claims:maybe}} {{env:EnvTorch}}\n"
    problems = template_problems(bad, "t.md")
    assert len(problems) == 4
    assert "unknown table 'nope'" in problems[0] and "malformed" in problems[1]
    assert "{{env:Nope}}" in problems[2] and "{{claims:maybe}}" in problems[3]


def test_every_output_prints_the_paper_s_own_label_and_no_second_one():
    assert "#set figure(numbering: none)" in TYPST_HEADER  # the PDF
    preamble = (ROOT / "manuscript/arxiv.tex").read_text(encoding="utf-8")
    assert r"\captionsetup{labelformat=empty,labelsep=none}" in preamble  # the arXiv source
    captions = {"table:affine_grid": {"en": "Grid"}, "figure:affine_grid": {"en": "Fig"}}
    tex = bundle.latex_main(
        [],
        ["affine_grid"],
        ["affine_grid"],
        captions,
        "en",
        table_tex={
            "affine_grid": "% lnpaper table: tabular on a portrait page, about 20 em wide\n"
        },
        numbers=[],
        numbering={"table:affine_grid": 4, "figure:affine_grid": 2},
    )
    assert r"\captionof{table}{Table 4: Grid}" in tex and r"\caption{Figure 2: Fig}" in tex
    assert r"\captionsetup{labelformat=empty,labelsep=none}" in tex


def _main_text(language: str) -> str:
    text = (ROOT / f"manuscript/paper.{language}.md").read_text(encoding="utf-8")
    return text[: text.index("{{supplement}}")]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_table_and_figure_of_the_main_text_is_referred_to_by_number(language):
    text = _main_text(language)
    shown = {f"{k}:{n}" for k, n in numbering.SHOWN.findall(text)}
    assert shown, "the main text shows tables and figures"
    assert shown - numbering.referenced_by_number(text) == set()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_reference_is_cited_and_every_citation_has_a_reference(language):
    bib = (ROOT / "manuscript/references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    text = _main_text(language)
    cited = set(re.findall(r"@([a-z]+\d{4}|original)\b", text))
    assert keys - cited == set(), "references never cited"
    assert cited - keys == set(), "citations without a reference"
