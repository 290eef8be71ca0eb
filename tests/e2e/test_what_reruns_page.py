"""docs/what-reruns.md is what the DAG of the default config says: regenerated and compared."""

from __future__ import annotations

from conftest import ROOT, copy_workflow
from lnpaper.tools import what_reruns


def test_the_page_in_docs_is_what_the_dag_of_the_default_config_says(tmp_path):
    work = copy_workflow(tmp_path)
    got = what_reruns.generate(work)
    want = (ROOT / "docs/what-reruns.md").read_text(encoding="utf-8")
    assert got == want, (
        "docs/what-reruns.md is stale: python -m lnpaper.tools.what_reruns --write "
        "docs/what-reruns.md"
    )
