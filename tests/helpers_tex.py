"""Reading back what the pipeline writes in TeX, for the tests."""

from __future__ import annotations

import re


def parse_tex(text: str) -> dict[str, list[str]]:
    """name -> list of definitions in a numbers.tex (each list must have length 1)."""
    found: dict[str, list[str]] = {}
    for m in re.finditer(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}\s*$", text, flags=re.M):
        found.setdefault(m.group(1), []).append(m.group(2))
    return found


def compile_twice(folder, engine: str) -> str:
    """``engine`` (xelatex, pdflatex) on main.tex twice, as arXiv and editors do (references);
    asserts each run succeeds; the log of the second."""
    import subprocess

    for _ in range(2):
        proc = subprocess.run(
            [engine, "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
            cwd=folder,
            capture_output=True,
            text=True,
            errors="replace",  # TeX prints font names in 8-bit
            timeout=300,
        )
        log = (folder / "main.log").read_text(encoding="utf-8", errors="replace")
        assert proc.returncode == 0, log[-3000:]
    return log


def check_arxiv(tarball, manuscript_dir, dest) -> dict:
    """Unpack an arxiv.tar.gz alone in ``dest``, compile it with pdflatex twice as arXiv does,
    and check what a reader would: no missing or unmapped character, no undefined reference,
    no absolute path, every section title and every quoted number of paper.html in the PDF's
    text, and a page count near the Typst PDF's. Skips (one line) where pdflatex or poppler is
    missing, unless LNPAPER_REQUIRE_TEX is set (CI): then it fails."""
    import html as html_lib
    import os
    import shutil
    import subprocess
    import tarfile
    import unicodedata

    import pytest

    missing = [t for t in ("pdflatex", "pdftotext", "pdfinfo") if shutil.which(t) is None]
    if missing:
        why = f"{', '.join(missing)} not installed (apt-get install texlive-latex-extra texlive-lang-other poppler-utils)"
        if os.environ.get("LNPAPER_REQUIRE_TEX"):
            pytest.fail(why)
        pytest.skip(why)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        assert all(not n.startswith("/") and ".." not in n for n in names), names
        tar.extractall(dest, filter="data")
    main = (dest / "main.tex").read_text(encoding="utf-8")
    assert not re.search(r"(?<![\w.])/(?:work|tmp|home|root|Users)/", main)
    log = compile_twice(dest, "pdflatex")
    for bad in ("Missing character", "Unicode character", "Undefined control sequence"):
        assert bad not in log, re.findall(f"{bad}.*", log)[:5]
    assert "undefined references" not in log and "Reference `" not in log

    def norm(text: str) -> str:
        text = unicodedata.normalize("NFKC", html_lib.unescape(text)).replace("−", "-")
        return re.sub(r"[\s\u00ad]+", "", text)

    pdf_text = norm(
        subprocess.run(
            ["pdftotext", "main.pdf", "-"], cwd=dest, capture_output=True, text=True, check=True
        ).stdout
    )
    page = (manuscript_dir / "paper.html").read_text(encoding="utf-8")
    titles = [
        re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<h[1-3] id=[^>]*>(.*?)</h[1-3]>", page)
    ]
    numbers = [
        re.sub(r"<[^>]+>", "", n)
        for n in re.findall(r'<span class="num"[^>]*>(.*?)</span>', page, flags=re.S)
    ]
    assert titles and numbers
    assert [t for t in titles if norm(t) not in pdf_text] == []
    assert [n for n in numbers if norm(n) not in pdf_text] == []

    def pages(pdf) -> int:
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        return int(re.search(r"Pages:\s+(\d+)", info).group(1))

    counts = {"arxiv": pages(dest / "main.pdf"), "typst": pages(manuscript_dir / "paper.pdf")}
    assert counts["arxiv"] <= 1.3 * counts["typst"] + 1, counts
    return counts
