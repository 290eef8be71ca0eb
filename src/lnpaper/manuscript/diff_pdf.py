"""``lnpaper diff --pdf``: the newer paper with tracked changes against the older one.

Both builds' ``arxiv.tar.gz`` hold the whole paper as LaTeX with every quoted number written
out (no macros), so ``latexdiff`` on the two flattened sources marks each changed number, word,
table cell and caption; the result compiles with pdflatex beside the newer build's figures.
Removed text is red, added text blue: colour only, so no package beyond a basic TeX
installation is needed (latexdiff's underline style needs ulem). A number that moved beyond the
noise of the two builds (the noise-aware diff's rule) is also set on a yellow box, so the changes
that matter stand out from rounding-level ones.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

# latexdiff's COLOR style leaves \DIFaddtex / \DIFdeltex to the hyperref preamble it adds;
# defined here, before \begin{document}, they exist whatever latexdiff version writes it.
MARKUP = r"""
\providecommand{\DIFaddtex}[1]{{\protect\color{blue}#1}}
\providecommand{\DIFdeltex}[1]{{\protect\color{red}#1}}
\providecommand{\DIFaddFL}[1]{\DIFadd{#1}}
\providecommand{\DIFdelFL}[1]{\DIFdel{#1}}
\providecommand{\lnsig}[1]{\colorbox{yellow}{#1}}
"""


class PdfDiffUnavailable(RuntimeError):
    """latexdiff or pdflatex is not installed: the HTML diff still works."""


def tools_missing() -> list[str]:
    return [t for t in ("latexdiff", "pdflatex") if shutil.which(t) is None]


def _unpack(tarball: Path, dest: Path) -> Path:
    if not tarball.is_file():
        raise FileNotFoundError(f"{tarball} not found (a build writes it with the manuscript)")
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")
    return dest / "main.tex"


def _highlight(tex: str, texts: set[str]) -> tuple[str, int]:
    """Each printed text of ``texts`` (numbers beyond noise, as the paper prints them) wrapped in
    ``\\lnsig``, wherever it stands alone (not inside a longer number). Returns the text and the
    count of wrapped occurrences."""
    from lnpaper.manuscript.arxiv import map_unicode

    count = 0
    head, sep, body = tex.partition("\\begin{document}")
    if not sep:  # a table file: all body
        head, body = "", tex
    # a bare integer ("6") also spells LaTeX arguments (\multicolumn{6}): latexdiff marks it,
    # the box is left out
    for text in sorted((t for t in texts if not t.isdigit()), key=len, reverse=True):
        pattern = r"(?<![\w.\\])" + re.escape(map_unicode(text)) + r"(?![\w])"
        body, n = re.subn(pattern, lambda m: r"\lnsig{" + m.group(0) + "}", body)
        count += n
    return head + sep + body, count


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=600
    )


def write_pdf_diff(
    old_tarball: Path, new_tarball: Path, out_pdf: Path, significant: set[str] = frozenset()
) -> dict:
    """``out_pdf``: the newer paper with the older one's text marked as removed and its own as
    added; ``significant``: the newer build's printed text of each number that moved beyond
    noise, highlighted. Returns counts (marked additions and removals, highlighted numbers)."""
    missing = tools_missing()
    if missing:
        raise PdfDiffUnavailable(
            f"{' and '.join(missing)} not installed (apt-get install latexdiff "
            "texlive-latex-extra texlive-lang-other); the HTML diff is unaffected"
        )
    with tempfile.TemporaryDirectory() as tmp:
        old = _unpack(Path(old_tarball), Path(tmp) / "old")
        new = _unpack(Path(new_tarball), Path(tmp) / "new")
        highlighted = 0
        for source in [new, *sorted((new.parent / "tables").glob("*.tex"))]:
            text, n = _highlight(source.read_text(encoding="utf-8"), set(significant))
            source.write_text(text, encoding="utf-8")
            highlighted += n
        proc = _run(
            ["latexdiff", "--encoding=utf8", "--type=COLOR", "--flatten", str(old), str(new)],
            new.parent,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"latexdiff failed: {proc.stderr.strip()[-1000:]}")
        tex = proc.stdout.replace(r"\begin{document}", MARKUP + r"\begin{document}", 1)
        (new.parent / "diff.tex").write_text(tex, encoding="utf-8")
        for _ in range(2):  # twice, for references
            run = _run(
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "diff.tex"], new.parent
            )
        if run.returncode != 0:
            log = (new.parent / "diff.log").read_text(encoding="utf-8", errors="replace")
            errors = [line for line in log.splitlines() if line.startswith("!")]
            raise RuntimeError(f"pdflatex could not compile the diff: {'; '.join(errors[:3])}")
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(new.parent / "diff.pdf", out_pdf)
        body = tex.split(r"\begin{document}", 1)[1]
    return {
        "added": body.count(r"\DIFaddbegin"),
        "removed": body.count(r"\DIFdelbegin"),
        "highlighted": highlighted,
        "pdf": str(out_pdf),
    }
