"""`lnpaper diff` leads with the config parameters that changed, speaks the builds' language,
compares two languages by numbers and verdicts only, and writes a page that fetches nothing.
Small fake results folders stand in for builds: no Snakemake run."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lnpaper.manuscript import diff
from lnpaper.pipeline import io
from lnpaper.pipeline.config import load_yaml
from lnpaper.tools.cli import main

ROOT = Path(__file__).resolve().parents[2]
KEYS = diff.schema_keys(load_yaml(ROOT / "workflow/schemas/config.schema.yaml"))
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# how each language prints the number 1.5 and the table's header (as the real builds differ)
SPELLING = {"vi": ("1,5", "Trung bình"), "en": ("1.5", "Mean")}


def fake_build(folder: Path, language: str, gamma: float, value: float, verdict: str) -> Path:
    """A results folder as a build leaves it: manifests (the config each step ran with, keyed as
    the steps key them), numbers, one main-text table, the claims and the filled paper."""
    decimal = "," if language == "vi" else "."
    text = f"{value:g}".replace(".", decimal)
    header = SPELLING[language][1]
    for sub in ("manifests", "tables", "manuscript/figures"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    gammas = f"[1.0, {gamma}]"
    manifests = {
        "affine": {"affine.gamma": gammas, "affine.enabled": True, "seed": 42},
        "table_affine_main": {
            "table.experiments.affine.gamma": gammas,
            "table.language": language,
            "table.seed": 42,
        },
        "numbers": {"numbers.config.seed": 42, "numbers.names": "['AffMean']"},
    }
    for step, params in manifests.items():
        io.write_json({"step": step, "params": params}, folder / f"manifests/{step}.json")
    nums = pd.DataFrame({"name": ["AffMean", "Seed"], "value": [value, 42.0], "text": [text, "42"]})
    io.write_parquet(nums, folder / "manuscript/numbers.parquet")
    table = f"| γ | {header} |\n|---|---|\n| 1 | {text} |\n"
    (folder / "tables/affine_main.md").write_text(table, encoding="utf-8")
    claims = pd.DataFrame(
        {
            "claim_id": ["c1"],
            "section": ["4.1"],
            "claim": ["std = |gamma|"],
            "verdict": [verdict],
            "value": [value],
        }
    )
    claims.to_csv(folder / "tables/claims.csv", index=False)
    (folder / "manuscript/figures/f.png").write_bytes(PNG)
    paper = (
        f'Mean [{text}]{{.num data-name="AffMean" title="t"}}.\n\n{table}\n![f](figures/f.png)\n'
    )
    (folder / "manuscript/paper.md").write_text(paper, encoding="utf-8")
    return folder


def run_diff(tmp_path: Path, a: Path, b: Path, *extra: str) -> tuple[str, str]:
    out = tmp_path / "diff.html"
    assert main(["diff", str(a), str(b), "--out", str(out), *extra]) == 0
    return out.read_text(encoding="utf-8"), str(out)


def test_the_config_is_read_from_the_manifests_as_the_config_spells_it(tmp_path):
    build = fake_build(tmp_path / "a", "en", 3.0, 1.5, "holds")
    config = diff.resolved_config(build, KEYS)
    # each step's slice, under the config's own keys; a step's own params (numbers.names) dropped
    assert config == {
        "affine.enabled": "True",
        "affine.gamma": "[1.0, 3.0]",
        "language": "en",
        "seed": "42",
    }
    assert diff.canonical_key("claims.experiments.affine.gamma", KEYS) == "affine.gamma"
    assert diff.canonical_key("numbers.names", KEYS) is None
    assert diff.canonical_key("numbers.names", None) == "numbers.names"
    assert {"affine.gamma", "training.synthetic.n_classes", "language"} <= KEYS
    assert "training.synthetic" not in KEYS  # a section, not a key


def test_the_changed_parameter_comes_first_and_the_page_speaks_english(tmp_path, capsys):
    a = fake_build(tmp_path / "a", "en", 3.0, 1.5, "holds")
    b = fake_build(tmp_path / "b", "en", 3.5, 1.75, "fails")
    page, _ = run_diff(tmp_path, a, b)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "config: affine.gamma [1.0, 3.0] -> [1.0, 3.5]"
    # one cell of affine_main, and the verdict and value of the claim in claims_main
    assert printed[1].startswith(
        "1 verdicts flipped, 1 numbers changed beyond noise (0 within noise), 3 table cells"
    )
    assert '<html xmlns="http://www.w3.org/1999/xhtml" lang="en"' in page
    body = page.split("<body")[1]
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", body)
    assert headings[0] == "Config parameters that changed"
    assert headings[1] == "Verdicts that flipped"
    config = body[body.index(headings[0]) : body.index(headings[1])]
    assert "affine.gamma" in config and "[1.0, 3.0]" in config and "[1.0, 3.5]" in config
    assert "seed" not in config and "language" not in config  # unchanged keys are not listed


def test_two_vietnamese_builds_give_a_vietnamese_page_and_language_overrides(tmp_path):
    a = fake_build(tmp_path / "a", "vi", 3.0, 1.5, "holds")
    b = fake_build(tmp_path / "b", "vi", 3.0, 1.5, "holds")
    page, _ = run_diff(tmp_path, a, b)
    assert "0 kết luận đổi, 0 con số thay đổi vượt nhiễu (0 trong nhiễu), 0 ô bảng" in page
    assert "Tham số cấu hình đã đổi" in page and 'lang="vi"' in page
    page, _ = run_diff(tmp_path, a, b, "--language", "en")
    assert (
        "0 verdicts flipped, 0 numbers changed beyond noise (0 within noise), 0 table cells" in page
    )


def test_two_languages_are_compared_by_numbers_and_verdicts_not_by_words(tmp_path):
    a = fake_build(tmp_path / "a", "vi", 3.0, 1.5, "holds")
    b = fake_build(tmp_path / "b", "en", 3.0, 1.5, "holds")
    sa, sb = diff.load(a, keys=KEYS), diff.load(b, keys=KEYS)
    d = diff.compute(sa, sb)
    # the same values printed "1,5" and "1.5", a table header translated: nothing changed
    assert sa.numbers["AffMean"][1] != sb.numbers["AffMean"][1]
    assert d.numbers == {} and d.cells == {} and d.verdicts == []
    assert d.config == [("language", "vi", "en")] and d.languages == ("vi", "en")
    c = diff.compute(sa, diff.load(fake_build(tmp_path / "c", "en", 3.0, 2.5, "fails"), keys=KEYS))
    assert c.numbers == {"AffMean": ("1,5", "2.5")}
    assert c.verdicts == [("c1", "std = |gamma|", "holds", "fails")]
    assert c.cells == {}
    page, _ = run_diff(tmp_path, a, tmp_path / "c")
    assert (
        "1 verdicts flipped, 1 numbers changed beyond noise (0 within noise) (two languages: "
        "tables and text not compared)." in (page)
    )
    assert "only the numbers’ values and the claims’ verdicts are compared" in page
    assert "Table cells that changed" not in page
    assert "<mark>" not in page  # no table cell is marked as changed by its translation


@pytest.mark.parametrize("language", ["vi", "en"])
def test_diff_html_is_self_contained(tmp_path, language):
    a = fake_build(tmp_path / "a", language, 3.0, 1.5, "holds")
    b = fake_build(tmp_path / "b", language, 3.5, 1.75, "holds")
    page, _ = run_diff(tmp_path, a, b)
    # every image, style sheet and script is inside the page; nothing is fetched
    refs = re.findall(r'<(?:img|script|link|source|iframe)\b[^>]*?(?:src|href)="([^"]*)"', page)
    assert refs and all(r.startswith("data:") for r in refs), refs
    assert "figures/f.png" not in page


def test_an_mlflow_build_brings_its_config_from_its_params(tmp_path):
    """`lnpaper diff` with two MLflow builds: the config is the build runs' params."""
    build = fake_build(tmp_path / "a", "en", 3.0, 1.5, "holds")
    params = {"affine.gamma": "[1.0, 3.0]", "language": "vi", "seed": "42"}
    snap = diff.load(build, config=params)
    assert snap.config == params and snap.language == "vi"
    json.dumps(snap.config)  # plain text values
