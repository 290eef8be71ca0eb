"""The LaTeX bundle of the tiny build compiled by a real XeLaTeX, in the build's language and in
English: no missing glyph, undefined macro or overfull table."""

from __future__ import annotations

import re
import shutil
import zipfile

import pandas as pd
import pytest
import yaml
from helpers_tex import compile_twice

from conftest import ROOT
from lnpaper.manuscript.bundle import latex_main
from lnpaper.report.formatting import to_latex


def _check_log(log: str) -> None:
    assert "Missing character" not in log, re.findall(r"Missing character.*", log)[:5]
    assert "Undefined control sequence" not in log
    assert "There were undefined references" not in log
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert max(overfull, default=0) <= 10, overfull
    assert re.search(r"Output written on main\.pdf \(\d+ pages?", log)


@pytest.mark.slow
def test_bundle_main_tex_compiles_with_xelatex_in_both_languages(tiny_build, tmp_path):
    if shutil.which("xelatex") is None:
        pytest.skip("xelatex is not installed (apt-get install texlive-xetex fonts-dejavu)")
    with zipfile.ZipFile(tiny_build[0] / "results/manuscript/bundle.zip") as zf:
        zf.extractall(tmp_path / "vi")
    _check_log(compile_twice(tmp_path / "vi", "xelatex"))
    # English: the same frames rendered as an English build renders them (tables from the
    # bundle's full-precision CSVs, captions and main.tex in English)
    en = tmp_path / "en"
    shutil.copytree(tmp_path / "vi", en)
    main = (en / "main.tex").read_text(encoding="utf-8")
    names = re.findall(r"\\input\{tables/(\w+)\.tex\}", main)
    tex = {t: to_latex(pd.read_csv(en / f"tables/{t}.csv"), "en") for t in names}
    for t, text in tex.items():
        (en / f"tables/{t}.tex").write_text(text, encoding="utf-8")
    figures = re.findall(r"\{figures/(\w+)\.pdf\}", main)
    numbers = re.findall(r"\\newcommand\{\\(\w+)\}", (en / "numbers.tex").read_text())
    captions = yaml.safe_load((ROOT / "manuscript/captions.yaml").read_text(encoding="utf-8"))
    (en / "main.tex").write_text(
        latex_main(names, [], figures, captions, "en", table_tex=tex, numbers=numbers),
        encoding="utf-8",
    )
    _check_log(compile_twice(en, "xelatex"))
    for t in names:  # English tables need no Unicode font: they \input into pdfLaTeX papers too
        body = (en / f"tables/{t}.tex").read_text(encoding="utf-8")
        assert body.isascii() or t == "claims", t
