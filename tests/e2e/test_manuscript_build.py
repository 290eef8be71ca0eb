"""The manuscript of the tiny build: numbers.tex and numbers.json define each number once, every
number in paper.html comes from numbers.json with its MLflow run, one config value changes only
its macro, and an edit of the text reruns only the manuscript."""

from __future__ import annotations

import html
import json
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers_tex import parse_tex

from conftest import TEMPLATES, snakemake
from lnpaper.manuscript import fill
from lnpaper.manuscript.conditions import RESULT_LISTS, bound_numbers, list_text
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate
from lnpaper.report import numbers


def prose_text(page: str) -> str:
    """The running text of paper.html: no head, tables, figures, math, citations, references or
    quoted numbers."""
    for pattern in (
        r"<head>.*?</head>",
        r"<table.*?</table>",
        r"<figure.*?</figure>",
        r"<math.*?</math>",
        r'<span class="num".*?</span>',
        r'<span class="nocase">(?=[^<]*</span>)',  # opening tag only: citations nest it
        r'<span class="citation"[^>]*>[^<]*(?:</span>[^<]*)?</span>',  # (Author year): no quoted number
        r"<code>.*?</code>",
        r'<section id="references".*?</section>',
        r'<h\d id="references".*$',
        r"<header.*?</header>",
    ):
        page = re.sub(pattern, " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:\.\d+)?(?:·10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?(?![\w])")


def built_copy(built: Path, tmp_path: Path) -> Path:
    """The tiny build as it is (code included), so only the change a test makes differs."""
    work = tmp_path / "work"
    shutil.copytree(
        built, work, symlinks=True, ignore=shutil.ignore_patterns("mlflow.db*", "mlartifacts")
    )
    return work


@pytest.mark.slow
def test_numbers_tex_defines_each_macro_once_and_the_manuscript_uses_them(tiny_build):
    work, _ = tiny_build
    out = work / "results/manuscript"
    defs = parse_tex((out / "numbers.tex").read_text())
    assert defs and all(len(v) == 1 for v in defs.values())
    # quoted by the template, or read by one of its comparisons (an interval bound)
    used = set(fill.referenced(TEMPLATES["vi"], "num")) | bound_numbers(TEMPLATES["vi"])
    assert set(defs) <= used
    listed = json.loads((out / "numbers.json").read_text())
    assert list(defs) == listed["order"]
    for name, [tex] in defs.items():
        entry = listed["numbers"][name]
        assert entry["tex"] == tex
        assert (work / entry["file"]).exists() or entry["file"] == "config.yaml"
        assert re.fullmatch(r"[0-9a-f]{32}", entry["mlflow_run_id"]), name  # tracked in MLflow
    affine = pd.read_csv(work / "results/tables/affine_grid.csv")
    row = affine[(affine["gamma"] == 3) & (affine["beta"] == 5)].iloc[0]
    cell = {"table": "affine_grid", "column": "std_biased", "row": int(row.name)}
    assert listed["numbers"]["AffineStdGammaThreeBetaFive"]["cell"] == cell  # its table cell


@pytest.mark.slow
def test_every_number_in_paper_html_is_in_numbers_json(tiny_build):
    work, _ = tiny_build
    out = work / "results/manuscript"
    page = (out / "paper.html").read_text(encoding="utf-8")
    listed = json.loads((out / "numbers.json").read_text())["numbers"]
    spans = re.findall(
        r'<span class="num" data-name="([A-Za-z]+)" title="([^"]*)"><a\s+'
        r'href="http://127\.0\.0\.1:5000/#/experiments/(\d+)/runs/([0-9a-f]{32})">(.*?)</a></span>',
        page,
    )
    quoted = {s[0] for s in spans}
    assert quoted <= set(listed)  # every quoted number is listed, with its run
    # every listed number is quoted, or stands in a variant this build did not take, or is an
    # interval bound one of the template's comparisons reads
    template = TEMPLATES["vi"]
    unused = set(listed) - quoted - bound_numbers(template)
    assert unused <= set(fill.referenced(template, "num")), unused
    for name, title, _exp, run, text in spans:
        assert html.unescape(text) == listed[name]["text"], name
        assert run == listed[name]["mlflow_run_id"] and run in title, name
        assert listed[name]["file"] in html.unescape(title), name
    assert len(re.findall(r'class="num"', page)) == len(spans)  # no number without a link
    texts = {v["text"] for v in listed.values()}
    cfg = validate(
        load_yaml(work / "tiny.yaml"), load_yaml(work / "workflow/schemas/config.schema.yaml")
    )
    # a {{list:...}} prints a set of the config (the scales, the sizes): read from it, not typed
    # (the lists read from the claims table, e.g. the fragile claims, are empty without
    # replicates and print no number)
    for name in set(fill.referenced(TEMPLATES["vi"], "list")) - set(RESULT_LISTS):
        texts |= set(NUMBER.findall(list_text(name, cfg, "vi")))
    # the article's own words and constants ({{#quote}}), its claims as the claims lists print
    # them ({{claims:holds}}, with their sections) and the numbers of tables and figures
    # ({{ref:table:x}} -> "Bảng 3") are not measured numbers
    for quoted_words in re.findall(r"\{\{#quote\}\}(.*?)\{\{/quote\}\}", template, re.S):
        texts |= set(NUMBER.findall(quoted_words))
    from lnpaper.report import claims as _rules  # noqa: F401  (registers the claim rules)
    from lnpaper.report.verdicts import CLAIMS

    for claim in CLAIMS:
        texts |= set(NUMBER.findall(f"{claim.text_vi} {claim.section}"))
    running = re.sub(r"\b(?:Bảng|Hình) \d+", "", prose_text(page))
    stray = [m for m in NUMBER.findall(running) if m not in texts]
    assert stray == [], f"numbers typed by hand in the manuscript: {stray}"
    # nothing fetched from the network: the only links lead to the local MLflow UI (embedded
    # images are base64 data, which can spell "http" by chance)
    # (the reference list's DOI and arXiv links are links for the reader, not fetched)
    body = re.sub(
        r'xmlns="[^"]*"|src="data:[^"]*"|href="http://127\.0\.0\.1:5000/[^"]*"',
        "",
        re.sub(r'<div id="refs".*?(?=<h1|$)', "", page.split("<body")[1], flags=re.S),
    )
    assert not re.search(r'(?:src|srcset)="https?:', page)
    assert "<script" not in page and "http" not in body
    shown = set(registry.enabled_figures(cfg)) & set(fill.referenced(TEMPLATES["vi"], "figure"))
    assert page.count('src="data:image/png;base64,') == len(shown) > 0  # embedded, not linked
    assert "Nguồn gốc: <code>table_scale_behavior</code>" in page  # caption trace
    assert (out / "paper.pdf").read_bytes()[:5] == b"%PDF-"
    bundle = zipfile.ZipFile(out / "bundle.zip")
    assert {
        "numbers.json",
        "numbers.tex",
        "main.tex",
        "tables/scale_behavior.tex",
        "figures/matmul_norms.pdf",
    } <= set(bundle.namelist())
    main = bundle.read("main.tex").decode()
    refs = re.findall(r"\\input\{([^}]+)\}", main) + re.findall(
        r"\\includegraphics\[[^]]*\]\{([^}]+)\}", main
    )
    assert len(refs) > 5 and set(refs) <= set(bundle.namelist())  # the LaTeX project is complete


@pytest.mark.slow
def test_one_config_value_changes_its_macro_and_no_other_byte(tiny_build, tmp_path):
    work = built_copy(tiny_build[0], tmp_path)
    before = (work / "results/manuscript/numbers.tex").read_text().splitlines()
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
    cfg["affine"] = {"eps": 0.5}  # std = gamma * sqrt(v / (v + eps)): 3 -> about 2.45
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(
        work, "results/manuscript/numbers.tex", "--cores", "2", "--configfile", "changed.yaml"
    )
    after = (work / "results/manuscript/numbers.tex").read_text().splitlines()
    assert len(before) == len(after)
    changed = {
        re.match(r"\\newcommand\{\\(\w+)\}", b).group(1) for b, a in zip(before, after) if b != a
    }
    assert "AffineStdGammaThreeBetaFive" in changed
    assert changed <= {
        n.name for n in numbers.SPEC if n.source in ("table:affine_grid", "table:claims")
    }


@pytest.mark.slow
def test_reruns_editing_the_text_renders_only_the_manuscript(tiny_build, tmp_path):
    from test_workflow import scheduled_jobs

    work = built_copy(tiny_build[0], tmp_path)
    with open(work / "manuscript/paper.vi.md", "a", encoding="utf-8") as fh:
        fh.write("\nThêm một câu.\n")
    proc = snakemake(work, "-n", "--cores", "2", "--configfile", "tiny.yaml")
    assert scheduled_jobs(proc) == {"manuscript": 1}
