"""Adapter: rule manuscript -> lnpaper.manuscript.build (numbers.json, paper.html/pdf, bundle).

Not a run_step step: it runs after tracking and writes no manifest, because its captions and
numbers.json name the MLflow runs of the build it belongs to.
"""

import logging
from pathlib import Path

from lnpaper.manuscript import build
from lnpaper.pipeline.provenance import git_state
from lnpaper.pipeline.runtime import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
files = p.files  # {"tables": {name: {csv, md, tex, manifest}}, "figures": {...}, ...}
root = Path(snakemake.scriptdir).parents[1]
git = git_state(str(root))
inputs = build.ManuscriptInputs(
    config=p.enabled,
    language=p.language,
    template=Path(files["template"]),
    captions_file=Path(files["captions"]),
    numbers_file=Path(files["numbers"]),
    numbers_tex=Path(files["numbers_tex"]),
    tables=files["tables"],
    figures=files["figures"],
    tracking_file=files.get("tracking"),
    git=git,
    out=dict(snakemake.output.items()),
    manifests=files.get("manifests"),
    ui_url=p.mlflow_ui,
    latex_template=Path(files["latex_template"]),
    front_matter=Path(files["front_matter"]),
    references=Path(files["references"]),
    reproduce={
        "config": p.config,
        "root": root,
        "science": files["science"],
        "lock": files.get("lock"),
    },
)
counts = build.render(inputs)
logging.getLogger("lnpaper").info("manuscript: %s", counts)
