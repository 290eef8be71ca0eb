"""The tiny build's paper as a reader gets it: the PDF pages render and fit, the docx holds every
number with no English cell in the Vietnamese tables, and after a config change ``lnpaper diff``
marks exactly the numbers that changed."""

from __future__ import annotations

import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from lnpaper.manuscript import diff
from lnpaper.pipeline import registry


def page_ink(png) -> np.ndarray:
    from PIL import Image

    with Image.open(png) as img:
        return np.asarray(img.convert("L")) < 200  # True where something is drawn


@pytest.mark.slow
def test_pdf_pages_rendered_fit_the_page_and_the_main_text_is_short(tiny_build, tmp_path):
    """Looked at, not only parsed: the pages render to PNG; the main text stays within 30 pages
    (Method detailed enough to rerun each experiment, Discussion, Conclusion, the untested claims,
    environment and availability: 28 on the tiny build), each of its tables within half a page; no table column is narrower than its longest word
    (Typst would squeeze it and let the words run over each other or into the margin)."""
    from lnpaper.manuscript import render

    work, _ = tiny_build
    # a copy: the Typst source is written beside the paper, and the shared build is read-only
    # (other tests, on other workers, read that folder at the same time)
    out = tmp_path / "manuscript"
    shutil.copytree(work / "results/manuscript", out, symlinks=True)
    md = (out / "paper.md").read_text(encoding="utf-8")
    # the PDF's source: paper.md with the Typst page layout the PDF gets at its supplement
    md = re.sub(
        r"^# .*\{#supplement-start \.unnumbered\}$",
        lambda m: f"{render.SUPPLEMENT_TYPST}\n\n{m.group(0)}",
        md,
        flags=re.M,
    )
    assert render.SUPPLEMENT_TYPST in md
    src = out / ".test.typ"
    src.write_text(render.typst_source(md, "vi"), encoding="utf-8")
    counts = render.page_counts(src, out)
    assert 0 < counts["main"] <= 30 < counts["total"] + 30
    assert counts["total"] > counts["main"]  # a supplement follows
    heights = render.table_heights(md, out)
    main = [h for h in heights if h["page"] <= counts["main"]]
    assert len(main) == len(registry.MAIN_TABLES)
    assert all(h["height"] <= render.text_height_pt() / 2 for h in main), main
    fits = render.table_fit(md, out)
    assert len(fits) == len(heights)
    assert [f["header"] for f in fits if f["needed"] > f["available"]] == []
    (tmp_path / "pages").mkdir()
    render.render_pages(md, str(tmp_path / "pages/p{p}.png"), out, "vi", ppi=30)
    pages = sorted((tmp_path / "pages").glob("p*.png"), key=lambda p: int(p.stem[1:]))
    assert len(pages) == counts["total"]
    for page in pages:
        ink = page_ink(page)
        margin = int(0.6 * 30)  # well inside the 1.25-inch side margins
        assert not ink[:, -margin:].any() and not ink[:, :margin].any(), page.name


@pytest.mark.slow
def test_docx_holds_every_number_and_the_vietnamese_tables_have_no_english_cells(tiny_build):
    import json

    import pypandoc

    work, _ = tiny_build
    out = work / "results/manuscript"
    text = pypandoc.convert_file(str(out / "paper.docx"), "plain", extra_args=["--wrap=none"])
    listed = json.loads((out / "numbers.json").read_text())["numbers"]
    # every number the paper quotes (interval bounds its comparisons read are listed, not quoted)
    quoted = set(re.findall(r'data-name="(\w+)"', (out / "paper.md").read_text(encoding="utf-8")))
    missing = [n for n in quoted if listed[n]["text"] not in text]
    assert quoted
    assert missing == []
    md = (out / "paper.md").read_text(encoding="utf-8")
    main = md.split("Phụ lục: các bảng đầy đủ")[0]
    english = re.compile(r"\b(explodes|decays|holds|fails|measured|theory)\b")
    for line in main.splitlines():
        if line.startswith("|"):
            assert not english.search(line), line


@pytest.mark.slow
def test_diff_after_changing_gamma_marks_exactly_the_changed_numbers(tiny_build, tmp_path):
    import yaml

    from conftest import snakemake
    from lnpaper.tools.cli import main

    built = tiny_build[0]
    work = tmp_path / "work"
    shutil.copytree(
        built, work, symlinks=True, ignore=shutil.ignore_patterns("mlflow.db*", "mlartifacts")
    )
    shutil.copytree(work / "results", tmp_path / "before")
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
    cfg["affine"] = {"gamma": [1.0, 2.0, 3.5]}
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--cores", "2", "--configfile", "changed.yaml")
    out = tmp_path / "diff.html"
    assert main(["diff", str(tmp_path / "before"), str(work / "results"), "--out", str(out)]) == 0

    a = diff.load(tmp_path / "before")
    b = diff.load(work / "results")
    nan = (math.nan, "–")

    def same(x, y):
        return x[1] == y[1] and (x[0] == y[0] or (math.isnan(x[0]) and math.isnan(y[0])))

    changed = {
        n
        for n in set(a.numbers) | set(b.numbers)
        if not same(a.numbers.get(n, nan), b.numbers.get(n, nan))
    }
    page = out.read_text(encoding="utf-8")
    marked = set(re.findall(r'class="num-changed" data-name="(\w+)"', page))
    assert changed and marked == changed & set(re.findall(r'data-name="(\w+)"', b.paper))
    nums = pd.read_parquet(work / "results/manuscript/numbers.parquet").set_index("name")
    assert all(
        "affine" in nums.at[n, "source"] or "claims" in nums.at[n, "source"] for n in changed
    )
    d = diff.compute(a, b)
    assert set(d.cells) <= {"affine_grid", "affine_main", "claims", "claims_main"}
    assert "affine_main" in d.cells and "scale_main" not in d.cells
    # every changed number is counted once: beyond the noise of the two builds, or within it
    n, w = len(d.significant_numbers), len(d.noise_numbers)
    assert n + w == len(changed)
    assert f"{n} con số thay đổi vượt nhiễu ({w} trong nhiễu)" in d.summary("vi")
    assert d.summary("vi") in page.split("<h2")[0]
    # the same two builds as a tracked-changes PDF (latexdiff), or one line saying what is missing
    from lnpaper.manuscript import diff_pdf

    pdf = tmp_path / "diff.pdf"
    argv = ["diff", str(tmp_path / "before"), str(work / "results"), "--pdf", "--out", str(pdf)]
    if diff_pdf.tools_missing():
        assert main(argv) == 1 and not pdf.exists()
    else:
        assert main(argv) == 0 and pdf.read_bytes()[:5] == b"%PDF-"
