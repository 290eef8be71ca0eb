"""The paper's figures, drawn from the experiment Parquet files: the drawers live in
``figure_matrices`` and ``figure_training`` (registered on import), their shared layout in
``figure_kit``. Saved as PNG and vector PDF with fixed metadata (no timestamps), so the same data
gives the same bytes; provenance (rule, config hash, commit) goes into the metadata, not the
pixels.
"""

from __future__ import annotations

from lnpaper.pipeline import io
from lnpaper.report import figure_matrices, figure_training  # noqa: F401  (register the drawers)
from lnpaper.report.figure_kit import DRAWERS, new_figure
from lnpaper.report.step_config import StepConfig

__all__ = ["DRAWERS", "draw", "new_figure", "save_figure"]


def save_figure(fig, png_path, pdf_path, provenance: dict[str, str] | None = None) -> None:
    """PNG (300 dpi) and PDF with fixed metadata: no dates, provenance as text fields."""
    import matplotlib.pyplot as plt

    prov = provenance or {}
    text = "; ".join(f"{k}={v}" for k, v in sorted(prov.items()))
    with io.atomic_path(png_path) as tmp:
        fig.savefig(
            tmp,
            format="png",
            dpi=300,
            metadata={
                "Software": None,
                "Description": text,
                **{k: str(v) for k, v in prov.items()},
            },
        )
    with io.atomic_path(pdf_path) as tmp:
        fig.savefig(
            tmp,
            format="pdf",
            metadata={
                "CreationDate": None,
                "ModDate": None,
                "Producer": None,
                "Creator": "lnpaper",
                "Subject": text,
            },
        )
    plt.close(fig)


def draw(name: str, frames: dict, cfg: StepConfig):
    """Figure ``name`` from its experiment frames, labelled in ``cfg.language``."""
    if name not in DRAWERS:
        raise KeyError(f"no figure named {name!r}; known: {', '.join(sorted(DRAWERS))}")
    return DRAWERS[name](frames, cfg, cfg.language)
