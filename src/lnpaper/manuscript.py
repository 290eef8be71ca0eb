"""The manuscript as a pipeline target: fill ``manuscript/paper.<lang>.md`` with the built numbers,
tables and figures, render HTML (pandoc) and PDF (pandoc -> Typst), stamp provenance into the
figure copies it embeds, and pack the attachable set into ``bundle.zip``.

The template refers to everything by name only:
- ``{{num:MatmulRateNormalOne}}``: a number from numbers.py (its formatted text);
- ``{{table:scale_behavior}}`` / ``{{figure:matmul_norms}}`` on a line of their own: the table or
  figure with its caption (manuscript/captions.yaml) and a provenance trace (rule, config hash,
  git commit, MLflow run id);
- ``{{#requires matmul table:claims}} ... {{/requires}}``: text kept only when every listed
  experiment, table or figure is part of the build.
Whatever belongs to a disabled (or not yet existing) experiment is replaced by a short note, never
by a broken reference.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import io, registry

NOTES = {
    "table_off": {"vi": "Bảng *{name}* được lược bỏ: thí nghiệm {exps} bị tắt trong cấu hình.",
                  "en": "Table *{name}* is left out: experiment {exps} is disabled in the config."},
    "figure_off": {"vi": "Hình *{name}* được lược bỏ: thí nghiệm {exps} bị tắt trong cấu hình.",
                   "en": "Figure *{name}* is left out: experiment {exps} is disabled in the config."},
    "absent": {"vi": "*{name}* chưa có trong pipeline này.",
               "en": "*{name}* is not part of this pipeline yet."},
    "block_off": {"vi": "Phần này được lược bỏ vì {what} không có trong lần dựng này.",
                  "en": "This part is left out because {what} is not part of this build."},
    "number_off": {"vi": "không có", "en": "n/a"},
    "trace": {"vi": "Nguồn gốc", "en": "Provenance"},
    "config": {"vi": "cấu hình", "en": "config"},
    "untracked": {"vi": "không theo dõi", "en": "untracked"},
}

DIRECTIVE = re.compile(r"\{\{(num|table|figure):([A-Za-z_]+)\}\}")
COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
BLOCK = re.compile(r"\{\{#requires ([^}]*)\}\}(.*?)\{\{/requires\}\}", re.S)


def note(key: str, language: str, **kw) -> str:
    return NOTES[key].get(language, NOTES[key]["en"]).format(**kw)


@dataclass
class Build:
    """What this build contains and who made it: the inputs of the fill step."""
    config: dict
    language: str
    numbers: pd.DataFrame                 # numbers.parquet: name, value, text, ...
    tables: dict[str, str]                # enabled table -> its Markdown
    captions: dict[str, dict[str, str]]   # "table:x" / "figure:x" -> {vi, en}
    traces: dict[str, dict[str, str]]     # step -> {rule, config_hash, git_commit, mlflow_run_id}


# ---------------------------------------------------------------- provenance

def trace(step: str, manifest: dict | None, tracking: dict | None, git: dict) -> dict[str, str]:
    """rule, config hash, git commit and MLflow run id of one step ("untracked" without MLflow)."""
    run = (tracking or {}).get("steps", {}).get(step, {}).get("run_id", "untracked")
    commit = git.get("commit", "unknown")[:12]
    if git.get("dirty") == "true":
        commit += "+dirty"  # built from uncommitted changes
    return {"rule": step, "config_hash": (manifest or {}).get("params_hash", "unknown")[:12],
            "git_commit": commit, "mlflow_run_id": run}


def trace_text(t: dict[str, str], language: str) -> str:
    run = t["mlflow_run_id"]
    run = note("untracked", language) if run == "untracked" else run
    return (f"{note('trace', language)}: `{t['rule']}` · {note('config', language)} "
            f"`{t['config_hash']}` · commit `{t['git_commit']}` · MLflow `{run}`")


# ---------------------------------------------------------------- availability

def status(kind: str, name: str, config: dict) -> tuple[bool, str]:
    """(available, reason) of a table or figure under this config."""
    if kind == "table":
        known = name in registry.TABLES or name == "claims"
        on = name in registry.enabled_tables(config)
    else:
        known = name in registry.FIGURES
        on = name in registry.enabled_figures(config)
    if on:
        return True, ""
    if not known:
        return False, "absent"
    sources = registry.TABLES.get(name, []) if kind == "table" else registry.FIGURES[name]
    off = sorted({registry.experiment_of(s) for s in sources} - set(registry.enabled_experiments(config)))
    return False, ", ".join(f"`{e}`" for e in off) or "?"


def requirement_met(token: str, config: dict) -> bool:
    if ":" in token:
        kind, name = token.split(":", 1)
        return status(kind, name, config)[0]
    return token in registry.enabled_experiments(config)


# ---------------------------------------------------------------- filling the template

def _caption(build: Build, kind: str, name: str) -> str:
    text = build.captions.get(f"{kind}:{name}", {})
    return text.get(build.language) or text.get("en") or name


def _table_block(build: Build, name: str) -> str:
    ok, why = status("table", name, build.config)
    if not ok:
        key = "absent" if why == "absent" else "table_off"
        return f"> {note(key, build.language, name=name, exps=why)}"
    t = trace_text(build.traces[f"table_{name}"], build.language)
    return (f"{build.tables[name].rstrip()}\n\n: {_caption(build, 'table', name)} "
            f"[{t}]{{.trace}}")


def _figure_block(build: Build, name: str, ext: str) -> str:
    ok, why = status("figure", name, build.config)
    if not ok:
        key = "absent" if why == "absent" else "figure_off"
        return f"> {note(key, build.language, name=name, exps=why)}"
    t = trace_text(build.traces[f"figure_{name}"], build.language)
    return (f"![{_caption(build, 'figure', name)} [{t}]{{.trace}}](figures/{name}.{ext})"
            f"{{#fig:{name} width=3.5in}}")


def _number(build: Build, name: str) -> str:
    rows = build.numbers[build.numbers["name"] == name]
    if len(rows) == 0:
        from .numbers import SPEC

        if not any(n.name == name for n in SPEC):
            raise KeyError(f"manuscript refers to unknown number {name!r}")
        return f"[{note('number_off', build.language)}]{{.num-missing data-name=\"{name}\"}}"
    return f"[{rows['text'].iloc[0]}]{{.num data-name=\"{name}\"}}"


def fill(template: str, build: Build, figure_ext: str = "png") -> str:
    """The template with every directive replaced (see the module docstring)."""
    def block(m):
        missing = [tok for tok in m.group(1).split() if not requirement_met(tok, build.config)]
        if not missing:
            return m.group(2)
        what = ", ".join(f"`{tok}`" for tok in missing)
        return f"\n> {note('block_off', build.language, what=what)}\n"

    text = BLOCK.sub(block, COMMENT.sub("", template))  # comments are notes to authors

    def directive(m):
        kind, name = m.groups()
        if kind == "num":
            return _number(build, name)
        if kind == "table":
            return _table_block(build, name)
        return _figure_block(build, name, figure_ext)

    return DIRECTIVE.sub(directive, text)


def referenced(template: str, kind: str) -> list[str]:
    """Names of the numbers / tables / figures a template refers to, in order of first use."""
    seen: dict[str, None] = {}
    for m in DIRECTIVE.finditer(COMMENT.sub("", template)):
        if m.group(1) == kind:
            seen.setdefault(m.group(2))
    return list(seen)


# ---------------------------------------------------------------- numbers.json

def numbers_json(numbers: pd.DataFrame, tracking: dict | None, git: dict) -> dict:
    """Every quoted number with its text, source file, producing step and MLflow run."""
    runs = (tracking or {}).get("steps", {})
    out = {}
    for r in numbers.itertuples():
        out[r.name] = {"value": None if math.isnan(r.value) else float(r.value), "text": r.text,
                       "tex": r.tex, "source": r.source, "file": r.file, "step": r.step,
                       "mlflow_run_id": runs.get(r.step, {}).get("run_id", "untracked")}
    return {"numbers": out, "order": list(numbers["name"]),
            "mlflow_build_run_id": (tracking or {}).get("build_run_id", "untracked"),
            "git_commit": git.get("commit", "unknown"), "git_dirty": git.get("dirty", "unknown")}


# ---------------------------------------------------------------- rendering

HTML_STYLE = """<style>
body { max-width: 48em; }
table { font-size: 0.75em; }
.trace { font-size: 0.8em; color: #555; }
figure img { width: 3.5in; max-width: 100%; }
blockquote { color: #555; font-style: italic; }
</style>
"""

TYPST_HEADER = """#set text(font: ("Libertinus Serif", "DejaVu Serif"))
#show figure.where(kind: table): set text(size: 6pt)
#show figure.where(kind: table): set block(breakable: true)
#show table: set par(justify: false)
#show figure.caption: set text(size: 8pt)
#show math.equation: set text(font: ("New Computer Modern Math", "DejaVu Serif"))
"""


def _pandoc_args(language: str, title: str) -> list[str]:
    # --columns: pipe tables wider than this get fixed relative widths; we want natural widths
    return ["--standalone", "--columns=100000", "--metadata", f"lang={language}",
            "--metadata", f"title={title}"]


def render_html(markdown: str, html_path: Path, resource_dir: Path, language: str, title: str) -> None:
    """Self-contained HTML: images embedded, math as MathML (nothing fetched from the network)."""
    import pypandoc

    header = resource_dir / ".style.html"
    header.write_text(HTML_STYLE, encoding="utf-8")
    try:
        with io.atomic_path(html_path) as tmp:
            pypandoc.convert_text(markdown, "html5", format="markdown", outputfile=str(tmp),
                                  extra_args=_pandoc_args(language, title) + [
                                      "--embed-resources", "--mathml", "--include-in-header", str(header),
                                      f"--resource-path={resource_dir}"])
    finally:
        header.unlink(missing_ok=True)


def typst_source(markdown: str, language: str, title: str) -> str:
    import pypandoc

    return pypandoc.convert_text(markdown, "typst", format="markdown",
                                 extra_args=_pandoc_args(language, title) + [
                                     "-V", "papersize=a4", "-V", f"header-includes={TYPST_HEADER}"])


def font_paths() -> list[str]:
    """DejaVu fonts shipped with matplotlib: full Vietnamese coverage without system packages."""
    import matplotlib

    return [str(Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf")]


def render_pdf(markdown: str, pdf_path: Path, resource_dir: Path, language: str, title: str) -> None:
    """PDF through Typst (installed from PyPI by the project's own set-up)."""
    import typst

    src = resource_dir / ".paper.typ"
    src.write_text(typst_source(markdown, language, title), encoding="utf-8")
    try:
        with io.atomic_path(pdf_path) as tmp:
            typst.compile(str(src), output=str(tmp), root=str(resource_dir), font_paths=font_paths())
    finally:
        src.unlink(missing_ok=True)


def render_pages(markdown: str, out_pattern: str, resource_dir: Path, language: str,
                 ppi: int = 80) -> None:
    """PNG images of the PDF's pages (``out_pattern`` like 'page{p}.png'), to look at them."""
    import typst

    src = resource_dir / ".pages.typ"
    src.write_text(typst_source(markdown, language, TITLE.get(language, TITLE["en"])), encoding="utf-8")
    try:
        typst.compile(str(src), output=out_pattern, format="png", ppi=ppi, root=str(resource_dir),
                      font_paths=font_paths())
    finally:
        src.unlink(missing_ok=True)


# ---------------------------------------------------------------- figure provenance

def stamp_png(src: Path, dst: Path, meta: dict[str, str]) -> None:
    """Copy a PNG adding provenance text chunks; the pixels are unchanged."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    with Image.open(src) as img:
        info = PngInfo()
        fields = {**{k: v for k, v in img.text.items() if k not in meta}, **meta}
        fields["Description"] = "; ".join(f"{k}={v}" for k, v in sorted(meta.items()))
        for key, value in fields.items():
            info.add_text(key, str(value))
        with io.atomic_path(dst) as tmp:
            img.save(tmp, format="PNG", pnginfo=info, dpi=img.info.get("dpi", (300, 300)))


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def stamp_pdf(src: Path, dst: Path, meta: dict[str, str]) -> None:
    """Copy a PDF with a new document-info dictionary, appended as an incremental update.

    The original bytes stay as they are (the drawing is untouched); readers take the newest
    trailer, whose /Info carries the provenance in /Subject, /Keywords and one key per field.
    """
    data = src.read_bytes()
    startxref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    trailer = re.findall(rb"trailer\s*<<(.*?)>>", data, re.S)[-1]
    size = int(re.search(rb"/Size\s+(\d+)", trailer).group(1))
    root = re.search(rb"/Root\s+(\d+ \d+ R)", trailer).group(1).decode()
    text = "; ".join(f"{k}={v}" for k, v in sorted(meta.items()))
    entries = {"Creator": "lnpaper", "Subject": text, "Keywords": text,
               **{"Lnpaper" + k.title().replace("_", ""): v for k, v in sorted(meta.items())}}
    body = "<< " + " ".join(f"/{k} {_pdf_string(v)}" for k, v in entries.items()) + " >>"
    if not data.endswith(b"\n"):
        data += b"\n"
    obj_at = len(data)
    update = f"{size} 0 obj\n{body}\nendobj\n".encode("latin-1", "replace")
    xref_at = obj_at + len(update)
    update += (f"xref\n{size} 1\n{obj_at:010d} 00000 n \n"
               f"trailer\n<< /Size {size + 1} /Root {root} /Info {size} 0 R /Prev {startxref} >>\n"
               f"startxref\n{xref_at}\n%%EOF\n").encode()
    io.write_bytes(data + update, dst)


# ---------------------------------------------------------------- bundle for a LaTeX editor

def latex_main(tables: list[str], figures: list[str], captions: dict, language: str) -> str:
    """A minimal main.tex that \\input's numbers.tex and every table and figure of the bundle."""
    from .tables import tex_escape

    def cap(kind, name):
        c = captions.get(f"{kind}:{name}", {})
        text = c.get(language) or c.get("en") or name
        parts = re.split(r"(\$[^$]+\$)", text)  # $math$ passes through, the rest is escaped
        return "".join(p if p.startswith("$") else tex_escape(p) for p in parts)

    lines = ["% Compile with XeLaTeX or LuaLaTeX (the tables and captions contain Vietnamese).",
             r"\documentclass{article}", r"\usepackage{fontspec}", r"\usepackage{amsmath}",
             r"\usepackage{booktabs}", r"\usepackage{graphicx}", r"\input{numbers.tex}",
             r"\begin{document}"]
    for t in tables:
        lines += [r"\begin{table}[htbp]\centering\small", f"\\caption{{{cap('table', t)}}}",
                  rf"\resizebox{{\linewidth}}{{!}}{{\input{{tables/{t}.tex}}}}", r"\end{table}"]
    for f in figures:
        lines += [r"\begin{figure}[htbp]\centering",
                  rf"\includegraphics[width=3.5in]{{figures/{f}.pdf}}",
                  f"\\caption{{{cap('figure', f)}}}", r"\end{figure}"]
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


def write_bundle(zip_path: Path, files: dict[str, Path | bytes]) -> None:
    """Zip with fixed timestamps and sorted names: same files, same bytes."""
    with io.atomic_path(zip_path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for arcname in sorted(files):
                content = files[arcname]
                data = content if isinstance(content, bytes) else Path(content).read_bytes()
                info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)


# ---------------------------------------------------------------- the rule's body

TITLE = {"vi": "Layer Normalization: ổn định số học, kiểm chứng lại bằng thực nghiệm",
         "en": "Layer Normalization: numerical stability, re-examined by experiment"}


def render(config: dict, language: str, template: Path, captions_file: Path, numbers_file: Path,
           numbers_tex: Path, tables: dict[str, dict[str, str]], figures: dict[str, dict[str, str]],
           tracking_file: str | None, git: dict, out: dict[str, str]) -> dict:
    """Write numbers.json, paper.md, paper.html, paper.pdf, the stamped figures and bundle.zip.

    ``tables``: name -> {csv, md, tex, manifest}; ``figures``: name -> {png, pdf, manifest}
    (enabled ones only); ``out``: numbers_json, markdown, html, pdf, bundle, figures (a folder).
    Returns counts for the log.
    """
    import yaml

    tracking = io.read_json(tracking_file) if tracking_file else None
    numbers = io.read_parquet(numbers_file)
    traces = {f"table_{t}": trace(f"table_{t}", io.read_json(f["manifest"]), tracking, git)
              for t, f in tables.items()}
    traces.update({f"figure_{f}": trace(f"figure_{f}", io.read_json(p["manifest"]), tracking, git)
                   for f, p in figures.items()})
    captions = yaml.safe_load(captions_file.read_text(encoding="utf-8")) or {}

    fig_dir = Path(out["figures"])
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, paths in figures.items():
        meta = {k: v for k, v in traces[f"figure_{name}"].items()}
        stamp_png(Path(paths["png"]), fig_dir / f"{name}.png", meta)
        stamp_pdf(Path(paths["pdf"]), fig_dir / f"{name}.pdf", meta)

    build = Build(config=config, language=language, numbers=numbers,
                  tables={t: Path(f["md"]).read_text(encoding="utf-8") for t, f in tables.items()},
                  captions=captions, traces=traces)
    text = template.read_text(encoding="utf-8")
    io.write_json(numbers_json(numbers, tracking, git), out["numbers_json"])
    html_md = fill(text, build, figure_ext="png")
    io.write_text(html_md, out["markdown"])
    resource_dir = Path(out["markdown"]).parent
    title = TITLE.get(language, TITLE["en"])
    render_html(html_md, Path(out["html"]), resource_dir, language, title)
    render_pdf(fill(text, build, figure_ext="pdf"), Path(out["pdf"]), resource_dir, language, title)

    files: dict[str, Path | bytes] = {"numbers.json": Path(out["numbers_json"]),
                                      "numbers.tex": Path(numbers_tex),
                                      "main.tex": latex_main(list(tables), list(figures), captions,
                                                             language).encode()}
    for t, f in tables.items():
        for ext in ("tex", "md", "csv"):
            files[f"tables/{t}.{ext}"] = Path(f[ext])
    for f in figures:
        for ext in ("pdf", "png"):
            files[f"figures/{f}.{ext}"] = fig_dir / f"{f}.{ext}"
    write_bundle(Path(out["bundle"]), files)
    return {"numbers": len(numbers), "tables": len(tables), "figures": len(figures),
            "bundle_files": len(files)}
