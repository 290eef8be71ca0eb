"""The attachable bundle: main.tex for a LaTeX editor and a reproducible zip."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lnpaper.pipeline import io


def latex_main(tables: list[str], figures: list[str], captions: dict, language: str) -> str:
    """A minimal main.tex that \\input's numbers.tex and every table and figure of the bundle."""
    from lnpaper.report.formatting import tex_escape

    def cap(kind, name):
        c = captions.get(f"{kind}:{name}", {})
        text = c.get(language) or c.get("en") or name
        parts = re.split(r"(\$[^$]+\$)", text)  # $math$ passes through, the rest is escaped
        return "".join(p if p.startswith("$") else tex_escape(p) for p in parts)

    lines = [
        "% Compile with XeLaTeX or LuaLaTeX (the tables and captions contain Vietnamese).",
        r"\documentclass{article}",
        r"\usepackage{fontspec}",
        r"\usepackage{amsmath}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\input{numbers.tex}",
        r"\begin{document}",
    ]
    for t in tables:
        lines += [
            r"\begin{table}[htbp]\centering\small",
            f"\\caption{{{cap('table', t)}}}",
            rf"\resizebox{{\linewidth}}{{!}}{{\input{{tables/{t}.tex}}}}",
            r"\end{table}",
        ]
    for f in figures:
        lines += [
            r"\begin{figure}[htbp]\centering",
            rf"\includegraphics[width=3.5in]{{figures/{f}.pdf}}",
            f"\\caption{{{cap('figure', f)}}}",
            r"\end{figure}",
        ]
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
