"""The main text of the filled paper, in Vietnamese and in English, as a reader sees it: no raw
identifier (claim id, path, hash, code formula, snake_case key), every abbreviation defined at
its first use, one glossary term per concept (no English word in the Vietnamese text where the
glossary chose a Vietnamese one), no template artefact and no number written as 1e+04
(lnpaper.manuscript.wording, manuscript/glossary.yaml). The supplement and the provenance
(hover titles, caption traces) may name steps, files and hashes; the scan leaves them out."""

from __future__ import annotations

import pytest

from lnpaper.manuscript import wording
from lnpaper.tools import config_space, config_sweep


@pytest.fixture(scope="module", params=["vi", "en"])
def micro_paper(request) -> tuple[str, str]:
    """The paper of the micro config built in process (lnpaper.tools.config_build), no figures."""
    import warnings

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops only add contention on a shared machine
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    cfg = config_sweep.variant(config_space.micro_config(), language=request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = config_sweep.build_in_process(cfg, figures=False)
    return request.param, built.paper


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{k}: {line}" for k, lines in found.items() for line in lines)


def test_the_main_text_reads_as_prose_in_both_languages(micro_paper):
    language, paper = micro_paper
    found = wording.scan(paper, language)
    assert found == {k: [] for k in wording.CATEGORIES}, _report(found)
    assert wording.main_text(paper, language).count("\n") > 100  # the scan saw the whole text


def test_the_pipelines_paper_reads_as_prose(tiny_build):
    """The tiny build's paper.md, with its real provenance (links to MLflow runs, hashes)."""
    work, _ = tiny_build
    paper = (work / "results/manuscript/paper.md").read_text(encoding="utf-8")
    found = wording.scan(paper, "vi")
    assert found == {k: [] for k in wording.CATEGORIES}, _report(found)
