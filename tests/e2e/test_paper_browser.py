"""paper.html and diff.html opened in headless Chromium, as a reader opens them: every image
loads, every internal link has its target, hovering a number shows its provenance, and a
number's link opens that number's run in a running MLflow UI.

Needs Debian's ``chromium`` (``.ci/run`` installs it)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from test_mlflow_ui import CHROMIUM, mlflow_ui  # noqa: F401  (the fixture, shared)

from lnpaper.tools.browser import Browser

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)"),
]

IMAGES = "Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.alt])"
# same-page links whose target id does not exist
DANGLING = """Array.from(document.querySelectorAll('a[href^="#"]'))
  .map(a => decodeURIComponent(a.hash.slice(1)))
  .filter(id => id && !document.getElementById(id))"""
FILE_LINKS = "Array.from(document.links).map(a => a.href).filter(h => h.startsWith('file:'))"
NUMBER = """(i => {
  const span = document.querySelectorAll('span.num')[i];
  span.scrollIntoView({block: 'center'});
  const r = span.getClientRects()[0];  // its first line box: a number may wrap
  const a = span.querySelector('a');
  return {x: r.x + Math.min(r.width / 2, 4), y: r.y + r.height / 2, text: span.textContent,
          href: a ? a.getAttribute('href') : null};
})"""
HOVERED_TITLE = """(() => {
  const hovered = Array.from(document.querySelectorAll(':hover'));
  const el = hovered[hovered.length - 1];
  const titled = el && el.closest('[title]');
  return titled ? titled.title : null;
})()"""


def _check_page(b: Browser, page: Path) -> None:
    b.open(page.as_uri())
    images = b.evaluate(IMAGES)
    assert [alt for ok, alt in images if not ok] == []
    assert b.evaluate(DANGLING) == []
    missing = [h for h in b.evaluate(FILE_LINKS) if not Path(unquote(urlparse(h).path)).exists()]
    assert missing == []


def test_paper_and_diff_pages_in_a_browser(mlflow_ui, tmp_path):  # noqa: F811
    from lnpaper.manuscript import diff

    work, ui = mlflow_ui
    out = work / "results/manuscript"
    figures = re.findall(r"\]\(figures/[^)]+\.png\)", (out / "paper.md").read_text())
    # the diff page of the build against itself: a page a reader opens after `lnpaper diff`
    # (written where results/manuscript/diff.html would be, so its links to src/ resolve)
    snap = diff.load(work / "results")
    page = tmp_path / "results/manuscript/diff.html"
    page.parent.mkdir(parents=True)
    (tmp_path / "src").symlink_to(work / "src")
    diff.write_diff(snap, snap, page, "vi")
    with Browser() as b:
        _check_page(b, out / "paper.html")
        assert len(b.evaluate(IMAGES)) == len(figures) > 0
        count = b.evaluate("document.querySelectorAll('span.num').length")
        assert count > 20
        linked = None
        for i in range(count):  # hover every quoted number: its provenance shows
            n = b.evaluate(f"{NUMBER}({i})")
            b.hover(n["x"], n["y"])
            title = b.evaluate(HOVERED_TITLE)
            assert title and "MLflow" in title, (n["text"], title)
            if n["href"] and linked is None:
                run_id = title.rsplit("MLflow:", 1)[1].strip().split()[0]
                assert n["href"].rstrip("/").endswith(run_id), (n["href"], run_id)
                linked = (n["href"], run_id)
        assert linked, "no quoted number links to its run"
        # its link, on the port this MLflow UI listens on, opens that run
        href, run_id = linked
        # the run page, loaded: its title names the run, its body lists the run's parameters
        shown = "document.body.innerText.includes('Parameters')"
        b.open(f"{ui}/#/{href.split('/#/', 1)[1]}", settle=shown, timeout=120)
        assert b.evaluate("document.title").startswith(f"Run {run_id}")
        _check_page(b, page)
