"""The manuscript rule's body: numbers.json, paper.md/html/pdf/docx, stamped figures, bundle.zip."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lnpaper.manuscript.bundle import latex_main, write_bundle
from lnpaper.manuscript.fill import (
    Build,
    fill,
    mlflow_ui,
    numbers_json,
    read_claim_verdicts,
    shown_numbering,
    trace,
)
from lnpaper.manuscript.front import read_front
from lnpaper.manuscript.meca import manifest_xml
from lnpaper.manuscript.render import render_docx, render_html, render_pdf
from lnpaper.manuscript.reproduce import LAYOUT, reproduce_files
from lnpaper.manuscript.stamp import stamp_pdf, stamp_png
from lnpaper.manuscript.template import check_captions
from lnpaper.pipeline import io, registry


def replication_table(tables: dict) -> pd.DataFrame | None:
    """The claims table when replicates (seeds, kernel paths) ran (it carries their columns),
    else None."""
    from lnpaper.report.replication import kernel_replicated, replicated

    if "claims" not in tables:
        return None
    table = pd.read_csv(tables["claims"]["csv"])
    return table if replicated(table) or kernel_replicated(table) else None


def derived_tables(tables: dict[str, dict[str, str]], language: str) -> dict[str, str]:
    """Markdown of the tables the manuscript makes from another table's CSV (claims_main)."""
    from lnpaper.report.formatting import to_markdown
    from lnpaper.report.tables import claims_summary

    out = {}
    if "claims" in tables:
        claims = pd.read_csv(tables["claims"]["csv"])
        out["claims_main"] = to_markdown(claims_summary(claims, language), language)
    return out


@dataclass(frozen=True)
class ManuscriptInputs:
    """What the manuscript rule hands to ``render``.

    ``tables``: name -> {csv, md, tex, manifest}; ``figures``: name -> {png, pdf, manifest}
    (enabled ones only); ``manifests``: other step -> manifest (the steps numbers come from);
    ``out``: numbers_json, markdown, html, pdf, docx, bundle, figures (a folder); ``ui_url``:
    the MLflow UI the run links point at ("" = the tracking server, or the local ``mlflow ui``).
    """

    config: dict
    language: str
    template: Path
    captions_file: Path
    numbers_file: Path
    numbers_tex: Path
    tables: dict[str, dict[str, str]]
    figures: dict[str, dict[str, str]]
    tracking_file: str | None
    git: dict
    out: dict[str, str]
    manifests: dict[str, str] | None = None
    ui_url: str = ""
    latex_template: Path | None = None
    front_matter: Path | None = None
    references: Path | None = None
    # what bundle.zip needs to be rebuilt (``reproduce.reproduce_files``): config (resolved,
    # no credentials), root (the checkout), science (ref -> Parquet), lock (file or None)
    reproduce: dict | None = None


def render(inputs: ManuscriptInputs) -> dict:
    """Write numbers.json, paper.md, paper.html, paper.pdf, paper.docx, the stamped figures and
    bundle.zip (MECA layout). Returns counts for the log."""
    from lnpaper.pipeline.yamlfile import safe_load

    p, out = inputs, inputs.out
    tracking = io.read_json(p.tracking_file) if p.tracking_file else None
    numbers = io.read_parquet(p.numbers_file)
    traces = _traces(p, numbers, tracking)
    captions_text = p.captions_file.read_text(encoding="utf-8")
    check_captions(captions_text, str(p.captions_file))
    captions = safe_load(captions_text) or {}
    fig_dir = Path(out["figures"])
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, paths in p.figures.items():
        meta = dict(traces[f"figure_{name}"])
        stamp_png(Path(paths["png"]), fig_dir / f"{name}.png", meta)
        stamp_pdf(Path(paths["pdf"]), fig_dir / f"{name}.pdf", meta)
    build = Build(
        config=p.config,
        language=p.language,
        numbers=numbers,
        tables={
            **{t: Path(f["md"]).read_text(encoding="utf-8") for t, f in p.tables.items()},
            **derived_tables(p.tables, p.language),
        },
        captions=captions,
        traces=traces,
        claims=read_claim_verdicts(p.tables["claims"]["csv"]) if "claims" in p.tables else None,
        replication=replication_table(p.tables),
        ui=mlflow_ui(tracking, p.ui_url),
    )
    text = p.template.read_text(encoding="utf-8")
    io.write_json(numbers_json(numbers, tracking, p.git), out["numbers_json"])
    html_md = fill(text, build, figure_ext="png", source=str(p.template))
    front = _front(p, html_md, build)
    html_md = front + html_md
    io.write_text(html_md, out["markdown"])
    resource_dir = Path(out["markdown"]).parent
    render_html(html_md, Path(out["html"]), resource_dir, p.language)
    pdf_md = front + fill(text, build, figure_ext="pdf", source=str(p.template), typst=True)
    pages = render_pdf(pdf_md, Path(out["pdf"]), resource_dir, p.language)
    render_docx(html_md, Path(out["docx"]), resource_dir, p.language)
    title = str(read_front(p.front_matter).get("title") or "")
    files = _bundle_files(
        p, numbers, captions, fig_dir, title, html_md, shown_numbering(text, build)
    )
    write_bundle(Path(out["bundle"]), files)
    arxiv = _arxiv(p, html_md, fig_dir) if "arxiv" in out else {}
    return {
        "arxiv_files": arxiv.get("files", 0),
        "numbers": len(numbers),
        "tables": len(p.tables),
        "figures": len(p.figures),
        "bundle_files": len(files),
        "pages": pages,
    }


def _jats(markdown: str, language: str, bundle: set[str]) -> bytes:
    """The article as JATS XML for bundle.zip; a structural problem stops the build by name."""
    from lnpaper.manuscript.jats import check, jats_xml

    xml = jats_xml(markdown, language)
    problems = check(xml, bundle)
    if problems:
        raise ValueError(f"article.xml (JATS): {'; '.join(problems)}")
    return xml.encode("utf-8")


def _front(p: ManuscriptInputs, filled: str, build: Build) -> str:
    """The metadata block before the filled text: title, authors, date, the abstract filled
    like the body (a number it lacks stops the build by name), keywords, cited references."""
    from lnpaper.manuscript.front import abstract_markup, front_block

    if p.front_matter is None:
        return ""
    markup = abstract_markup(Path(p.front_matter).read_text(encoding="utf-8"))
    abstract = fill(markup, build, figure_ext="png", source=str(p.front_matter))
    return front_block(filled, p.front_matter, p.references, abstract=abstract)


def _arxiv(p: ManuscriptInputs, markdown: str, fig_dir: Path) -> dict:
    """arxiv.tar.gz: the same filled text as paper.html, as a pdfLaTeX source."""
    from lnpaper.manuscript.arxiv import write_arxiv

    return write_arxiv(
        markdown,
        fig_dir,
        p.language,
        Path(p.out["arxiv"]),
        tables={t: {k: f[k] for k in ("md", "tex")} for t, f in p.tables.items()},
        preamble=p.latex_template.read_text(encoding="utf-8") if p.latex_template else None,
    )


def _traces(p: ManuscriptInputs, numbers: pd.DataFrame, tracking: dict | None) -> dict:
    """Step -> its trace (manifest, MLflow run, commit) for every step a number, table or figure
    of the paper comes from."""
    traces = {
        step: trace(step, io.read_json(path) if Path(path).exists() else None, tracking, p.git)
        for step, path in (p.manifests or {}).items()
    }
    for kind, files in (("table", p.tables), ("figure", p.figures)):
        traces.update(
            {
                f"{kind}_{name}": trace(
                    f"{kind}_{name}", io.read_json(f["manifest"]), tracking, p.git
                )
                for name, f in files.items()
            }
        )
    for step in set(numbers["step"]) - set(traces):  # a step without a manifest here
        traces[step] = trace(step, None, tracking, p.git)
    return traces


def _bundle_files(
    p: ManuscriptInputs,
    numbers: pd.DataFrame,
    captions: dict,
    fig_dir: Path,
    title: str,
    markdown: str,
    numbering: dict[str, int] | None = None,
) -> dict[str, Path | bytes]:
    """Archive name -> file or bytes of bundle.zip: the paper, its LaTeX project, the tables'
    sources and the figures, with the MECA manifest."""
    out, tables = p.out, p.tables
    files: dict[str, Path | bytes] = {
        "numbers.json": Path(out["numbers_json"]),
        "numbers.tex": Path(p.numbers_tex),
        "main.tex": latex_main(
            [t for t in tables if registry.placement(t) == "main"],
            [t for t in tables if registry.placement(t) != "main"],
            list(p.figures),
            captions,
            p.language,
            table_tex={t: Path(f["tex"]).read_text(encoding="utf-8") for t, f in tables.items()},
            numbers=list(numbers["name"]),
            title=title,
            numbering=numbering,
        ).encode(),
        "paper.pdf": Path(out["pdf"]),
        "paper.docx": Path(out["docx"]),
        "paper.html": Path(out["html"]),
        "paper.md": Path(out["markdown"]),
    }
    for t, f in tables.items():
        for ext in ("tex", "md", "csv"):
            files[f"tables/{t}.{ext}"] = Path(f[ext])
    for f in p.figures:
        for ext in ("pdf", "png"):
            files[f"figures/{f}.{ext}"] = fig_dir / f"{f}.{ext}"
    files[LAYOUT["article"]] = _jats(markdown, p.language, set(files))
    if p.reproduce is not None:  # after every other file: its digests cover them
        files.update(reproduce_files(files, git=p.git, **p.reproduce))
    files["manifest.xml"] = manifest_xml(
        sorted(files),
        title=title,
        supplement={f"tables/{t}.csv" for t in tables if t in registry.SUPPLEMENT_TABLES},
    ).encode()
    return files
