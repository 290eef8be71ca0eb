"""Adapter: rule manuscript -> lnpaper.manuscript.render (numbers.json, paper.html/pdf, bundle)."""
import logging
from pathlib import Path

from lnpaper import manuscript
from lnpaper.provenance import git_state
from lnpaper.runtime import setup_logging

setup_logging(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
tables = {t: {ext: inp[f"table__{t}__{ext}"] for ext in ("csv", "md", "tex", "manifest")}
          for t in p.tables}
figures = {f: {ext: inp[f"figure__{f}__{ext}"] for ext in ("png", "pdf", "manifest")}
           for f in p.figures}
counts = manuscript.render(
    config=p.enabled, language=p.language, template=Path(inp.template), captions_file=Path(inp.captions),
    numbers_file=Path(inp.numbers), numbers_tex=Path(inp.numbers_tex), tables=tables, figures=figures,
    tracking_file=inp.get("tracking"), git=git_state(str(Path(snakemake.scriptdir).parents[1])),
    out=dict(snakemake.output.items()))
logging.getLogger("lnpaper").info("manuscript: %s", counts)
