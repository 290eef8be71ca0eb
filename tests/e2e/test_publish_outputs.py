"""What a preprint server and a journal receive from the tiny build: the arXiv source unpacked
alone and compiled with pdflatex (the English build's is checked the same way in test_reruns.py,
which builds it), the JATS article in bundle.zip, and the front file's title and abstract in
every format."""

from __future__ import annotations

import pytest
from helpers_front import check_front_in_every_format
from helpers_tex import check_arxiv


@pytest.mark.slow
def test_arxiv_source_compiles_alone_with_pdflatex_and_holds_the_whole_paper(tiny_build, tmp_path):
    out = tiny_build[0] / "results/manuscript"
    counts = check_arxiv(out / "arxiv.tar.gz", out, tmp_path)
    assert counts["arxiv"] >= counts["typst"] // 2  # the supplement's tables came along


@pytest.mark.slow
def test_bundle_carries_the_article_as_jats_with_its_graphics(tiny_build):
    import zipfile

    from lnpaper.manuscript.jats import check

    with zipfile.ZipFile(tiny_build[0] / "results/manuscript/bundle.zip") as zf:
        names = set(zf.namelist())
        xml = zf.read("article.xml").decode("utf-8")
        manifest = zf.read("manifest.xml").decode("utf-8")
    assert check(xml, names) == []
    assert 'xlink:href="article.xml"' in manifest
    assert xml.count("<fig ") == len(
        [n for n in names if n.startswith("figures/") and n.endswith(".png")]
    )


@pytest.mark.slow
def test_the_front_files_title_and_filled_abstract_are_in_every_format(tiny_build):
    import json
    import re

    out = tiny_build[0] / "results/manuscript"
    abstracts = check_front_in_every_format(out, "vi")
    # filled as the body is: the abstract quotes the build's seed, in every format
    seed = json.loads((out / "numbers.json").read_text())["numbers"]["Seed"]["text"]
    quoted = {fmt: f"seed{seed}" in re.sub(r"[{}]", "", text) for fmt, text in abstracts.items()}
    assert all(quoted.values()), quoted
