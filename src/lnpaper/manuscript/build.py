"""The manuscript rule's body: numbers.json, paper.md/html/pdf, stamped figures, bundle.zip."""

from __future__ import annotations

from pathlib import Path

from lnpaper.manuscript.bundle import latex_main, write_bundle
from lnpaper.manuscript.fill import Build, fill, numbers_json, trace
from lnpaper.manuscript.render import TITLE, render_html, render_pdf
from lnpaper.manuscript.stamp import stamp_pdf, stamp_png
from lnpaper.pipeline import io


def render(
    config: dict,
    language: str,
    template: Path,
    captions_file: Path,
    numbers_file: Path,
    numbers_tex: Path,
    tables: dict[str, dict[str, str]],
    figures: dict[str, dict[str, str]],
    tracking_file: str | None,
    git: dict,
    out: dict[str, str],
) -> dict:
    """Write numbers.json, paper.md, paper.html, paper.pdf, the stamped figures and bundle.zip.

    ``tables``: name -> {csv, md, tex, manifest}; ``figures``: name -> {png, pdf, manifest}
    (enabled ones only); ``out``: numbers_json, markdown, html, pdf, bundle, figures (a folder).
    Returns counts for the log.
    """
    import yaml

    tracking = io.read_json(tracking_file) if tracking_file else None
    numbers = io.read_parquet(numbers_file)
    traces = {
        f"table_{t}": trace(f"table_{t}", io.read_json(f["manifest"]), tracking, git)
        for t, f in tables.items()
    }
    traces.update(
        {
            f"figure_{f}": trace(f"figure_{f}", io.read_json(p["manifest"]), tracking, git)
            for f, p in figures.items()
        }
    )
    captions = yaml.safe_load(captions_file.read_text(encoding="utf-8")) or {}

    fig_dir = Path(out["figures"])
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, paths in figures.items():
        meta = {k: v for k, v in traces[f"figure_{name}"].items()}
        stamp_png(Path(paths["png"]), fig_dir / f"{name}.png", meta)
        stamp_pdf(Path(paths["pdf"]), fig_dir / f"{name}.pdf", meta)

    build = Build(
        config=config,
        language=language,
        numbers=numbers,
        tables={t: Path(f["md"]).read_text(encoding="utf-8") for t, f in tables.items()},
        captions=captions,
        traces=traces,
    )
    text = template.read_text(encoding="utf-8")
    io.write_json(numbers_json(numbers, tracking, git), out["numbers_json"])
    html_md = fill(text, build, figure_ext="png")
    io.write_text(html_md, out["markdown"])
    resource_dir = Path(out["markdown"]).parent
    title = TITLE.get(language, TITLE["en"])
    render_html(html_md, Path(out["html"]), resource_dir, language, title)
    render_pdf(fill(text, build, figure_ext="pdf"), Path(out["pdf"]), resource_dir, language, title)

    files: dict[str, Path | bytes] = {
        "numbers.json": Path(out["numbers_json"]),
        "numbers.tex": Path(numbers_tex),
        "main.tex": latex_main(
            list(tables),  # every table in the main text until the supplement split is wired
            [],
            list(figures),
            captions,
            language,
            table_tex={t: Path(f["tex"]).read_text(encoding="utf-8") for t, f in tables.items()},
            numbers=list(numbers["name"]),
        ).encode(),
    }
    for t, f in tables.items():
        for ext in ("tex", "md", "csv"):
            files[f"tables/{t}.{ext}"] = Path(f[ext])
    for f in figures:
        for ext in ("pdf", "png"):
            files[f"figures/{f}.{ext}"] = fig_dir / f"{f}.{ext}"
    write_bundle(Path(out["bundle"]), files)
    return {
        "numbers": len(numbers),
        "tables": len(tables),
        "figures": len(figures),
        "bundle_files": len(files),
    }
