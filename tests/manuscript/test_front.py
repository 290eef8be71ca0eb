"""Front matter and citations: the front file of each language is the one place of the title
and the abstract (markup filled like the body), the metadata block carries the cited references
only, an unknown key stops the build by name, and every format pandoc writes renders them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from lnpaper.manuscript import arxiv
from lnpaper.manuscript.front import (
    CitationError,
    abstract_markup,
    cited_keys,
    front_block,
    split_front,
)
from lnpaper.manuscript.template import front_problems

BIB = ROOT / "manuscript/references.bib"
FRONT = ROOT / "manuscript/front.vi.yaml"


def test_cited_keys_in_order_without_email_addresses():
    text = "LayerNorm [@ba2016; @xiong2020], as @welford1962 showed; mail a.b@c.org; [@ba2016]."
    assert cited_keys(text) == ["ba2016", "xiong2020", "welford1962"]


def test_the_block_holds_front_matter_and_only_the_cited_references():
    abstract = 'Seed [42]{.num title="a: b"} [@wu2018].  \n\nTwo.'
    block = front_block("See [@original] and @ba2016.", FRONT, BIB, abstract=abstract)
    meta, rest = split_front(block + "Body.")
    assert rest == "Body."
    # the abstract's citation first: it comes first in the paper
    assert [r["id"] for r in meta["references"]] == ["wu2018", "original", "ba2016"]
    assert meta["author"] and meta["keywords"] and meta["date"]
    assert meta["title"] == yaml.safe_load(FRONT.read_text())["title"]
    # the filled abstract as a literal block, its lines as written (trailing spaces dropped)
    assert meta["abstract"] == 'Seed [42]{.num title="a: b"} [@wu2018].\n\nTwo.'
    assert 'abstract: |-\n  Seed [42]{.num title="a: b"}' in block
    # without a filled abstract the file's markup never reaches the paper
    assert "abstract" not in split_front(front_block("x", FRONT, BIB))[0]


def test_an_unknown_citation_stops_the_build_by_name():
    with pytest.raises(CitationError, match="@nosuch2099"):
        front_block("See [@nosuch2099].", FRONT, BIB)


def test_every_bibliography_entry_is_readable_and_the_front_files_match():
    from lnpaper.manuscript.front import bibliography

    items = bibliography(BIB)
    assert {"original", "ba2016", "welford1962", "wilson1927", "wu2018", "zhu2025"} <= {
        i["id"] for i in items
    }
    assert all(i.get("title") for i in items)
    texts = {x: Path(ROOT / f"manuscript/front.{x}.yaml").read_text() for x in ("vi", "en")}
    vi, en = (yaml.safe_load(texts[x]) for x in ("vi", "en"))
    assert set(vi) == set(en) == {"title", "author", "date", "keywords", "abstract"}
    assert len(vi["author"]) == len(en["author"]) and vi["title"] != en["title"]
    assert {x: front_problems(t, x) for x, t in texts.items()} == {"vi": [], "en": []}
    assert "{{num:Seed}}" in vi["abstract"] and "{{num:Seed}}" in en["abstract"]


def test_a_front_file_problem_names_the_file_and_its_line():
    text = "title: T\nabstract: |\n  One.\n\n  Seed {{num:NoSuchNumber}}.\n"
    assert abstract_markup(text) == "\n\nOne.\n\nSeed {{num:NoSuchNumber}}.\n"
    assert front_problems(text, "f.yaml")[0].startswith("f.yaml:5: unknown number")
    assert front_problems("abstract: x\n", "f.yaml") == ["f.yaml: no title (a text field)"]


def test_a_number_the_abstract_quotes_and_the_build_lacks_stops_the_fill_by_name():
    import pandas as pd

    from lnpaper.manuscript.conditions import MissingNumber
    from lnpaper.manuscript.fill import Build, fill

    build = Build(
        config={},
        language="vi",
        numbers=pd.DataFrame({"name": [], "value": [], "text": []}),
        tables={},
        captions={},
        traces={},
    )
    with pytest.raises(MissingNumber, match=r"\{\{num:Seed\}\}"):
        fill(abstract_markup(FRONT.read_text(encoding="utf-8")), build, source=str(FRONT))


def test_arxiv_source_renders_citations_authors_and_keywords():
    md = "# Giới thiệu\n\nNhư [@ba2016] đã viết.\n\n# Tài liệu tham khảo\n\n::: {#refs}\n:::\n"
    block = front_block(md, FRONT, BIB, abstract="Tóm tắt [@original].")
    tex, _ = arxiv.latex_source(block + md, "vi")
    assert "(Ba và c.s. 2016)" in tex and r"\bibitem[\citeproctext]{ref-ba2016}" in tex
    assert r"\author{Tên tác giả thứ nhất" in tex and "Từ khóa" in tex
    assert r"\title{Layer Normalization: ổn định số học" in tex
    assert r"\bibitem[\citeproctext]{ref-original}" in tex  # cited by the abstract only
    assert "Tóm tắt (" in tex[tex.index(r"\begin{abstract}") :]
    assert "<<" not in tex and arxiv.unsettable(tex) == []


def test_the_workflow_start_check_reads_the_front_file(tmp_path):
    import shutil

    from lnpaper.manuscript.template import TemplateError, check_manuscript

    (tmp_path / "manuscript").mkdir()
    for name in ("captions.yaml", "paper.en.md", "front.en.yaml"):
        shutil.copy(ROOT / "manuscript" / name, tmp_path / "manuscript" / name)
    check_manuscript(tmp_path, "en")  # as written: passes
    front = tmp_path / "manuscript/front.en.yaml"
    text = front.read_text(encoding="utf-8")
    front.write_text(text.replace("{{num:Seed}}", "{{num:Sed}}"), encoding="utf-8")
    line = text[: text.index("{{num:Seed}}")].count("\n") + 1
    with pytest.raises(TemplateError, match=rf"^manuscript/front.en.yaml:{line}: unknown number"):
        check_manuscript(tmp_path, "en")
