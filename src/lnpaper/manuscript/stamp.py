"""Stamp provenance (rule, config hash, commit, MLflow run) into figure copies' metadata."""

from __future__ import annotations

import re
from pathlib import Path

from lnpaper.pipeline import io


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
    entries = {
        "Creator": "lnpaper",
        "Subject": text,
        "Keywords": text,
        **{"Lnpaper" + k.title().replace("_", ""): v for k, v in sorted(meta.items())},
    }
    body = "<< " + " ".join(f"/{k} {_pdf_string(v)}" for k, v in entries.items()) + " >>"
    if not data.endswith(b"\n"):
        data += b"\n"
    obj_at = len(data)
    update = f"{size} 0 obj\n{body}\nendobj\n".encode("latin-1", "replace")
    xref_at = obj_at + len(update)
    update += (
        f"xref\n{size} 1\n{obj_at:010d} 00000 n \n"
        f"trailer\n<< /Size {size + 1} /Root {root} /Info {size} 0 R /Prev {startxref} >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    io.write_bytes(data + update, dst)
