"""The front file's title and abstract in every format a build writes, for the end-to-end tests
(the Vietnamese tiny build in e2e/test_publish_outputs.py, the English rerun in
e2e/test_reruns.py)."""

from __future__ import annotations

import html
import re
import unicodedata
import zipfile

import yaml

from conftest import ROOT


def flat(text: str) -> str:
    """Text as compared across formats: entities decoded, NFKC, no whitespace or soft hyphens
    (each format breaks lines in its own places)."""
    text = unicodedata.normalize("NFKC", html.unescape(text))
    return re.sub(r"[\s\u00ad]+", "", text)


def front_phrases(language: str) -> tuple[str, str]:
    """(title, the abstract's first words): the words stand before any markup of the abstract,
    so every format prints them as written."""
    front = yaml.safe_load((ROOT / f"manuscript/front.{language}.yaml").read_text("utf-8"))
    words = re.split(r"\[@|\{\{|\$", front["abstract"])[0].split()[:5]
    assert len(words) == 5, front["abstract"][:80]
    return front["title"], " ".join(words)


def _untagged(xml: str) -> str:
    return re.sub(r"<[^>]+>", "", xml)


def check_front_in_every_format(manuscript_dir, language: str) -> dict[str, str]:
    """Assert that the title and the abstract of ``language``'s front file are where each format
    shows them: the HTML header and ``<title>``, the docx, the arXiv ``main.tex`` (``\\title``,
    the abstract environment), the JATS ``front``, the bundle's ``main.tex`` and manifest, and
    the Typst PDF's first page (pdftotext; that check skips or fails like ``check_arxiv``
    where poppler is absent). Returns each format's abstract as flat text."""
    import os
    import shutil
    import subprocess
    import tarfile

    import pytest

    title, opening = front_phrases(language)
    got: dict[str, str] = {}
    page = (manuscript_dir / "paper.html").read_text(encoding="utf-8")
    header = page[page.index('<header id="title-block-header">') : page.index("</header>")]
    assert flat(title) in flat(_untagged(re.search(r"<title>(.*?)</title>", page).group(1)))
    assert flat(title) in flat(_untagged(header))
    got["html"] = flat(_untagged(header[header.index('<div class="abstract">') :]))
    with zipfile.ZipFile(manuscript_dir / "paper.docx") as zf:
        got["docx"] = flat(_untagged(zf.read("word/document.xml").decode("utf-8")))
    with tarfile.open(manuscript_dir / "arxiv.tar.gz") as tar:
        tex = tar.extractfile("main.tex").read().decode("utf-8")
    assert f"\\title{{{title}}}" in tex  # no character of either title needs escaping
    got["arxiv"] = flat(tex[tex.index(r"\begin{abstract}") : tex.index(r"\end{abstract}")])
    with zipfile.ZipFile(manuscript_dir / "bundle.zip") as zf:
        article = zf.read("article.xml").decode("utf-8")
        assert f"\\title{{{title}}}" in zf.read("main.tex").decode("utf-8")
        assert f"<item-title>{html.escape(title, quote=False)}</item-title>" in zf.read(
            "manifest.xml"
        ).decode("utf-8")
    front = article[article.index("<front>") : article.index("</front>")]
    assert flat(title) in flat(
        _untagged(re.search(r"<article-title>(.*?)</article-title>", front).group(1))
    )
    got["jats"] = flat(_untagged(front[front.index("<abstract") : front.index("</abstract>")]))
    assert flat(title) in got["docx"]
    unfilled = re.compile(r"\{\{(?:num:|list:|claim:|#|/)")  # markup the fill step replaces
    missing = {
        fmt for fmt, text in got.items() if flat(opening) not in text or unfilled.search(text)
    }
    assert missing == set(), (opening, missing)
    if shutil.which("pdftotext") is None:
        why = "pdftotext not installed (apt-get install poppler-utils)"
        if os.environ.get("LNPAPER_REQUIRE_TEX"):
            pytest.fail(why)
        pytest.skip(why)
    first_page = subprocess.run(
        ["pdftotext", "-l", "1", str(manuscript_dir / "paper.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert flat(title) in flat(first_page) and flat(opening) in flat(first_page), first_page[:500]
    return got
