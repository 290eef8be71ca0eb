"""Where things stand in the manuscript and what they link to: each table has one place and a
caption in both languages, numbers and figures link their MLflow run and drawing code, the MECA
manifest lists every file, and a table whose words cannot fit the page is found."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from conftest import ROOT, TEMPLATES
from lnpaper.manuscript import fill, meca
from lnpaper.pipeline import registry


def test_every_table_has_one_place_and_the_templates_follow_it():
    placed = registry.MAIN_TABLES + registry.SUPPLEMENT_TABLES
    assert len(placed) == len(set(placed))
    assert set(placed) == set(registry.TABLES) | {"claims"} | set(registry.DERIVED_TABLES)
    for language, text in TEMPLATES.items():
        main, supplement = text.split(fill.SUPPLEMENT)
        assert set(fill.referenced(main, "table")) == set(registry.MAIN_TABLES), language
        assert fill.referenced(supplement, "table") == registry.SUPPLEMENT_TABLES, language
        assert not fill.referenced(supplement, "figure")


def test_every_main_table_has_a_caption_in_both_languages():
    import yaml

    caps = yaml.safe_load((ROOT / "manuscript/captions.yaml").read_text(encoding="utf-8"))
    for t in registry.MAIN_TABLES + registry.SUPPLEMENT_TABLES:
        assert caps[f"table:{t}"]["vi"] and caps[f"table:{t}"]["en"], t


def provenance_build(tracking: dict | None) -> fill.Build:
    nums = pd.DataFrame(
        [
            {
                "name": "Seed",
                "value": 42.0,
                "text": "42",
                "file": "config.yaml",
                "step": "numbers",
            }
        ]
    )
    tr = fill.trace("numbers", {"params_hash": "c0ffee" * 4}, tracking, {"commit": "a" * 40})
    ftr = fill.trace("figure_affine_grid", {"params_hash": "b" * 12}, tracking, {"commit": "a"})
    return fill.Build(
        config={e: {"enabled": True} for e in registry.EXPERIMENTS},
        language="en",
        numbers=nums,
        tables={},
        captions={},
        traces={"numbers": tr, "figure_affine_grid": ftr},
        ui=fill.mlflow_ui(tracking),
    )


def test_numbers_and_figures_link_their_mlflow_run_and_the_drawing_code():
    tracking = {
        "experiment_id": "7",
        "tracking_uri": "sqlite:///mlflow.db",
        "steps": {"numbers": {"run_id": "r" * 32}, "figure_affine_grid": {"run_id": "f" * 32}},
    }
    out = fill.fill("{{num:Seed}}\n\n{{figure:affine_grid}}", provenance_build(tracking))
    url = f"http://127.0.0.1:5000/#/experiments/7/runs/{'r' * 32}"
    assert f"[[42]({url})]{{.num" in out
    title = re.search(r'\.num data-name="Seed" title="([^"]*)"', out).group(1)
    assert "config.yaml" in title and "numbers" in title and "c0ffeec0ffee" in title
    assert "r" * 32 in title
    # the main text's caption links the run and names no identifier; its hover title names the
    # step and the drawing code, which the supplement's caption links
    assert f"[MLflow](http://127.0.0.1:5000/#/experiments/7/runs/{'f' * 32})" in out
    assert "figure_affine_grid" not in re.sub(r'title="[^"]*"', "", out)
    assert 'title="' in out and "src/lnpaper/report/figures.py" in out.split('title="', 2)[2]
    later = fill.fill("{{supplement}}\n\n{{figure:affine_grid}}", provenance_build(tracking))
    assert "](../../src/lnpaper/report/figures.py)" in later and "`figure_affine_grid`" in later
    assert (ROOT / "results/manuscript" / fill.FIGURE_SOURCE_LINK).resolve() == (
        ROOT / "src/lnpaper/report/figures.py"
    )
    server = {**tracking, "tracking_uri": "http://mlflow.lab:8080/"}
    assert fill.mlflow_ui(server) == "http://mlflow.lab:8080/#/experiments/7"


def test_untracked_numbers_keep_a_title_and_no_link():
    out = fill.fill("{{num:Seed}}", provenance_build(None))
    assert out.startswith('[42]{.num data-name="Seed" title="source: config.yaml')
    assert "untracked" in out and "http" not in out


def test_meca_manifest_lists_every_file_with_role_and_media_type():
    names = [
        "paper.pdf",
        "paper.docx",
        "figures/a.png",
        "tables/claims.csv",
        "tables/scale_main.csv",
        "numbers.json",
    ]
    xml = meca.manifest_xml(names, "T & co", supplement={"tables/claims.csv"})
    root = ET.fromstring(xml)
    ns = {"m": "https://manuscriptexchange.org/schema/manifest"}
    link = "{http://www.w3.org/1999/xlink}href"
    items = {
        i.find("m:instance", ns).get(link): (
            i.get("type"),
            i.find("m:instance", ns).get("media-type"),
        )
        for i in root.findall("m:item", ns)
    }
    assert set(items) == set(names)
    assert items["paper.pdf"] == ("manuscript", "application/pdf")
    assert items["paper.docx"][1].endswith("wordprocessingml.document")
    assert items["tables/claims.csv"] == ("supplementary-material", "text/csv")
    assert items["figures/a.png"] == ("figure", "image/png")
    assert items["numbers.json"][0] == "data"
    assert meca.manifest_xml(list(reversed(names)), "T & co", {"tables/claims.csv"}) == xml


def test_table_fit_finds_a_table_whose_words_cannot_fit(tmp_path):
    from lnpaper.manuscript import render

    header = " | ".join(f"Supercalifragilistic{i}" for i in range(14))
    wide = f"| {header} |\n|{'---|' * 14}\n| {' | '.join(['x'] * 14)} |\n"
    narrow = "| a | b |\n|---|---|\n| results/experiments/x.parquet;results/y | 2 |\n"
    (w,) = render.table_fit(wide, tmp_path)
    assert w["needed"] > w["available"] == pytest.approx(595.28 - 180)
    (n,) = render.table_fit(render.SUPPLEMENT_TYPST + "\n\n" + narrow, tmp_path)
    assert n["part"] == "supplement" and n["needed"] < 200 < n["available"]
