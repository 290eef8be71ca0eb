"""The manuscript target: quoted numbers (numbers.py), the template filler, provenance stamps,
the bundle, and end to end on the tiny build: numbers.tex, numbers.json, paper.html, reruns."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers_tex import parse_tex

from conftest import ROOT, snakemake
from lnpaper.manuscript import bundle, fill, stamp
from lnpaper.manuscript.template import TemplateError
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate
from lnpaper.report import numbers

TEMPLATES = {
    lang: (ROOT / f"manuscript/paper.{lang}.md").read_text(encoding="utf-8")
    for lang in ("vi", "en")
}
ALL_ON = {e: {"enabled": True} for e in registry.EXPERIMENTS}


def spec(name: str) -> numbers.Number:
    return next(n for n in numbers.SPEC if n.name == name)


# ---------------------------------------------------------------- numbers.py


def test_macro_names_are_tex_control_words_and_unique():
    names = [n.name for n in numbers.SPEC]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Za-z]+", n) for n in names)


@pytest.mark.parametrize(
    "value,name,text,tex",
    [
        (1.69149, "MatmulRateNormalOne", "1.691", "1.691"),
        (-0.0174, "MatmulRateScaledOne", "−0.017", r"\ensuremath{-0.017}"),
        (-0.0001, "MatmulRateScaledOne", "0.000", "0.000"),  # no "−0.000"
        (24.0, "MatmulOverflowNormalOne", "24", "24"),
        (float("nan"), "MatmulOverflowNormalOne", "–", "--"),
        (6.265e-8, "LnMaxAbsMeanAfter", "6.3·10⁻⁸", r"\ensuremath{6.3\times 10^{-8}}"),
        (1e-5, "LnEps", "10⁻⁵", r"\ensuremath{10^{-5}}"),
        (0.0, "BatchStdOthersMax", "0", "0"),  # an exact zero, not 0·10⁰
        (1.53, "TrainGradInitLayerNorm", "1.5", "1.5"),  # no ·10⁰
        (1.66e-8, "TrainGradInitNone", "1.7·10⁻⁸", r"\ensuremath{1.7\times 10^{-8}}"),
    ],
)
def test_fixed_precision_formatting(value, name, text, tex):
    assert numbers.format_text(value, spec(name)) == text
    assert numbers.format_tex(value, spec(name)) == tex


def scale_table(ns=(10, 30)) -> pd.DataFrame:
    rows = []
    for dist, b in (("normal", 0.0), ("scaled_normal", -0.5)):
        for n in ns:
            for s in (0.5, 1.0, 1.5, 2.0):
                rate = math.log(s) + b * math.log(n) + 0.001 * n
                rows.append(
                    {
                        "b_dist": dist,
                        "n": n,
                        "scale": s,
                        "growth_rate_mean": rate,
                        "growth_rate_theory": rate - 0.0005,
                        "growth_factor": math.exp(rate),
                        "overflow_step_median": np.nan if s < 1 else 40 / s,
                        "critical_scale_theory": 0.1857,
                        "critical_scale_measured": 0.19,
                        "ln_norm": float(n),
                    }
                )
    return pd.DataFrame(rows)


def test_matmul_numbers_come_from_the_reference_size_row():
    t = scale_table()
    cfg = numbers.config_slice(
        {"seed": 42, "matmul": {"steps": 50, "n_seeds": 20}, "layernorm_stats": {"eps": 1e-5}}
    )
    names = [
        "MatmulRefN",
        "MatmulRateNormalOne",
        "MatmulRateScaledOne",
        "MatmulOverflowNormalTwo",
        "MatmulOverflowNormalHalf",
        "MatmulLnNorm",
        "Seed",
        "MatmulSteps",
    ]
    got = numbers.compute({"table:scale_behavior": t}, cfg, names).set_index("name")
    assert got.loc["MatmulRefN", "value"] == 30  # the paper's n when it was run
    assert got.loc["MatmulRateNormalOne", "value"] == pytest.approx(0.03)
    assert got.loc["MatmulRateScaledOne", "value"] == pytest.approx(-0.5 * math.log(30) + 0.03)
    assert got.loc["MatmulOverflowNormalTwo", "text"] == "20"
    assert got.loc["MatmulOverflowNormalHalf", "text"] == "–"  # never overflowed
    assert got.loc["MatmulLnNorm", "text"] == "30.00"
    assert got.loc["Seed", "text"] == "42" and got.loc["MatmulSteps", "text"] == "50"
    assert list(got.index) == [
        n for n in (x.name for x in numbers.SPEC) if n in names
    ]  # spec order
    # without n = 30 the largest size is quoted
    small = numbers.compute({"table:scale_behavior": scale_table((10,))}, cfg, ["MatmulRefN"])
    assert small["text"].tolist() == ["10"]


def test_a_missing_row_gives_nan_not_a_failure():
    t = scale_table()
    t = t[t["scale"] != 1.5]
    got = numbers.compute({"table:scale_behavior": t}, {}, ["MatmulRateNormalOneHalf"])
    assert math.isnan(got["value"].iloc[0]) and got["tex"].iloc[0] == "--"


def test_disabled_experiments_drop_their_numbers():
    all_names = {n.name for n in numbers.in_build(ALL_ON)}
    off = {**ALL_ON, "affine": {"enabled": False}}
    names = {n.name for n in numbers.in_build(off)}
    assert {n for n in all_names - names} == {n for n in all_names if n.startswith("Affine")}
    assert not any(k.startswith("table:affine") for k in numbers.source_files(off))
    none = {e: {"enabled": False} for e in registry.EXPERIMENTS}
    assert {n.kind for n in numbers.in_build(none)} == {"config"}


def test_tex_has_one_definition_per_number_in_spec_order():
    df = numbers.compute(
        {"table:scale_behavior": scale_table()}, {}, ["MatmulRateNormalTwo", "MatmulRateNormalOne"]
    )
    tex = numbers.to_tex(df)
    defs = parse_tex(tex)
    assert list(defs) == ["MatmulRateNormalOne", "MatmulRateNormalTwo"]
    assert all(len(v) == 1 for v in defs.values())


def test_training_numbers_quote_the_reference_depth_and_drop_out_with_their_experiment():
    rows = [
        {
            "dataset": "digits",
            "arch": arch,
            "depth": d,
            "norm": norm,
            "n_seeds": 5,
            "test_accuracy_mean": d / 100 + (norm == "layernorm") + (arch == "residual") * 10,
            "grad_norm_first_layer_init_mean": 1e-8 if norm == "none" else 0.6,
            "diverged_fraction": 0.4 if d == 50 else 0.0,
        }
        for arch in ("plain", "residual")
        for d in (10, 20, 50)
        for norm in ("none", "layernorm")
    ]
    t = pd.DataFrame(rows)
    names = [
        "TrainRefDepth",
        "TrainDeepDepth",
        "TrainAccNone",
        "TrainAccLayerNorm",
        "TrainDeepAccLayerNorm",
        "TrainResidualAccNone",
        "TrainAccDyt",
        "TrainRuns",
        "TrainDiverged",
        "TrainGradInitNone",
        "TrainLr",
    ]
    full = {
        "seed": 1,
        "matmul": {"steps": 5, "n_seeds": 2},
        "layernorm_stats": {"eps": 1e-5},
        "training": {
            "lr": 1e-3,
            "steps": 300,
            "batch_size": 64,
            "width": 64,
            "depths": [10, 20, 50],
        },
    }
    cfg = numbers.config_slice(full)
    assert cfg["training"] == {"lr": 1e-3, "steps": 300, "batch_size": 64, "width": 64}
    got = numbers.compute({"table:normalizer_comparison": t}, cfg, names).set_index("name")["text"]
    assert got["TrainRefDepth"] == "20" and got["TrainDeepDepth"] == "50"
    assert got["TrainAccNone"] == "0.2" and got["TrainAccLayerNorm"] == "1.2"  # as the table
    assert got["TrainDeepAccLayerNorm"] == "1.5" and got["TrainResidualAccNone"] == "10.2"
    assert got["TrainAccDyt"] == "–"  # dyt not run
    assert got["TrainRuns"] == "60" and got["TrainDiverged"] == "8"  # 0.4 x 5 seeds x 4 rows
    assert got["TrainGradInitNone"] == "10⁻⁸" and got["TrainLr"] == "10⁻³"
    off = {**ALL_ON, "training": {"enabled": False}}
    gone = {n.name for n in numbers.in_build(ALL_ON)} - {n.name for n in numbers.in_build(off)}
    assert gone == {n.name for n in numbers.SPEC if n.name.startswith("Train")}
    full["training"]["enabled"] = False
    assert "training" not in numbers.config_slice(full)


# ---------------------------------------------------------------- the template


def template_build(config, language="vi") -> fill.Build:
    nums = pd.DataFrame(
        [
            {"name": "Seed", "value": 42.0, "text": "42"},
            {"name": "AffineSeeds", "value": 5.0, "text": "5"},
        ]
    )
    trace = {"rule": "x", "config_hash": "abc", "git_commit": "deadbeef", "mlflow_run_id": "r1"}
    return fill.Build(
        config=config,
        language=language,
        numbers=nums,
        tables={"affine_grid": "| a |\n|---|\n| 1 |\n"},
        captions={"table:affine_grid": {"vi": "Lưới γ, β", "en": "Grid"}},
        traces={"table_affine_grid": trace, "figure_affine_grid": trace},
    )


def test_fill_replaces_numbers_tables_figures_and_drops_disabled_parts():
    tpl = (
        "<!-- {{num:Nothing}} -->Seed {{num:Seed}}.\n\n{{table:affine_grid}}\n\n"
        "{{figure:affine_grid}}\n\n{{#requires affine}}kept {{num:AffineSeeds}}{{/requires}}\n"
    )
    out = fill.fill(tpl, template_build(ALL_ON))
    assert 'Seed [42]{.num data-name="Seed" title="' in out
    assert "| a |" in out and ": Lưới γ, β [Nguồn gốc: `x`" in out and "MLflow `r1`" in out
    assert "](figures/affine_grid.png){#fig:affine_grid width=3.5in title=" in out
    assert 'kept [5]{.num data-name="AffineSeeds"' in out and "Nothing" not in out

    off = {**ALL_ON, "affine": {"enabled": False}}
    out = fill.fill(tpl, template_build(off, "en"))
    assert "| a |" not in out and "kept" not in out and "figures/" not in out
    assert "Table *affine_grid* is left out: experiment `affine` is disabled" in out
    assert "Figure *affine_grid* is left out" in out
    assert "This part is left out because `affine` is not part of this build." in out


def test_fill_rejects_unknown_tables_and_numbers_naming_the_line():
    # a misspelt name never reaches the paper as a note: it stops the fill (tests/test_bad_inputs)
    with pytest.raises(TemplateError, match=r"^paper:2: unknown table \{\{table:no_such_table"):
        fill.fill("x\n{{table:no_such_table}}", template_build(ALL_ON, "en"), source="paper")
    with pytest.raises(TemplateError, match="template:1: unknown number {{num:NoSuchNumber}}"):
        fill.fill("{{num:NoSuchNumber}}", template_build(ALL_ON))


@pytest.mark.parametrize("language", ["vi", "en"])
def test_templates_refer_only_to_defined_numbers(language):
    used = fill.referenced(TEMPLATES[language], "num")
    assert set(used) <= {n.name for n in numbers.SPEC}
    assert used, "the manuscript quotes numbers"


def test_every_defined_number_is_quoted_by_both_manuscripts():
    for language, text in TEMPLATES.items():
        assert {n.name for n in numbers.SPEC} == set(fill.referenced(text, "num")), language


def test_every_table_and_figure_has_a_report_caption():
    """Snakemake reads one caption file per rule; its Jinja picks the entry by wildcard."""
    for kind, names in (("table", [*registry.TABLES, "claims"]), ("figure", registry.FIGURES)):
        text = (ROOT / f"workflow/report/{kind}.rst").read_text()
        for name in names:
            entry = text.split(f'name == "{name}" %}}\n', 1)
            assert len(entry) == 2, f"workflow/report/{kind}.rst has no caption for {name}"
            assert len(entry[1].split("{%", 1)[0].split()) > 10, name


# ---------------------------------------------------------------- provenance stamps, bundle


def small_figure(tmp_path: Path) -> tuple[Path, Path]:
    from lnpaper.report import figures

    fig, ax = figures.new_figure(height=1.0)
    ax.plot([0, 1], [1, 0])
    png, pdf = tmp_path / "f.png", tmp_path / "f.pdf"
    figures.save_figure(fig, png, pdf, {"rule": "figure_f", "config_hash": "abc"})
    return png, pdf


META = {
    "rule": "figure_f",
    "config_hash": "abc",
    "git_commit": "0123abc",
    "mlflow_run_id": "run(1)",
}


def test_stamped_png_keeps_pixels_and_carries_provenance(tmp_path):
    from PIL import Image

    png, _ = small_figure(tmp_path)
    stamp.stamp_png(png, tmp_path / "s.png", META)
    with Image.open(png) as a, Image.open(tmp_path / "s.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert b.text["mlflow_run_id"] == "run(1)" and b.text["git_commit"] == "0123abc"
        assert "rule=figure_f" in b.text["Description"]


def test_stamped_pdf_is_an_incremental_update_with_the_provenance(tmp_path):
    _, pdf = small_figure(tmp_path)
    stamp.stamp_pdf(pdf, tmp_path / "s.pdf", META)
    data = (tmp_path / "s.pdf").read_bytes()
    original = pdf.read_bytes()
    assert data.startswith(original.rstrip(b"\n"))  # drawing untouched
    xref_at = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[xref_at : xref_at + 4] == b"xref"  # offsets are right
    obj_at = int(re.search(rb"xref\n\d+ 1\n(\d{10}) 00000 n", data[xref_at:]).group(1))
    assert re.match(rb"\d+ 0 obj\n<< /Creator \(lnpaper\)", data[obj_at:])
    assert rb"/LnpaperMlflowRunId (run\(1\))" in data and rb"/LnpaperGitCommit (0123abc)" in data
    # and a PDF reader still opens it: Typst embeds it as an image
    import typst

    (tmp_path / "t.typ").write_text('#image("s.pdf", width: 3.5in)')
    assert typst.compile(str(tmp_path / "t.typ"))[:5] == b"%PDF-"


def test_bundle_bytes_do_not_depend_on_order_or_time(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    bundle.write_bundle(tmp_path / "1.zip", {"x/a.txt": tmp_path / "a.txt", "b": b"b"})
    bundle.write_bundle(tmp_path / "2.zip", {"b": b"b", "x/a.txt": tmp_path / "a.txt"})
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    assert zipfile.ZipFile(tmp_path / "1.zip").namelist() == ["b", "x/a.txt"]


# ---------------------------------------------------------------- end to end (tiny build)


def prose_text(page: str) -> str:
    """The running text of paper.html: no head, tables, figures, math, references or quoted numbers."""
    for pattern in (
        r"<head>.*?</head>",
        r"<table.*?</table>",
        r"<figure.*?</figure>",
        r"<math.*?</math>",
        r'<span class="num".*?</span>',
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
    assert set(defs) <= set(fill.referenced(TEMPLATES["vi"], "num"))
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
    assert len({s[0] for s in spans}) == len(listed)  # every number is quoted, with its run
    for name, title, _exp, run, text in spans:
        assert html.unescape(text) == listed[name]["text"], name
        assert run == listed[name]["mlflow_run_id"] and run in title, name
        assert listed[name]["file"] in html.unescape(title), name
    assert len(re.findall(r'class="num"', page)) == len(spans)  # no number without a link
    texts = {v["text"] for v in listed.values()}
    stray = [m for m in NUMBER.findall(prose_text(page)) if m not in texts]
    assert stray == [], f"numbers typed by hand in the manuscript: {stray}"
    # nothing fetched from the network: the only links lead to the local MLflow UI (embedded
    # images are base64 data, which can spell "http" by chance)
    body = re.sub(
        r'xmlns="[^"]*"|src="data:[^"]*"|href="http://127\.0\.0\.1:5000/[^"]*"',
        "",
        page.split("<body")[1],
    )
    assert "<script" not in page and "http" not in body
    cfg = validate(
        load_yaml(work / "tiny.yaml"), load_yaml(work / "workflow/schemas/config.schema.yaml")
    )
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


def test_without_mlflow_numbers_and_captions_say_untracked():
    nums = pd.DataFrame(
        [
            {
                "name": "Seed",
                "value": 42.0,
                "text": "42",
                "tex": "42",
                "source": "config",
                "file": "config.yaml",
                "step": "numbers",
            }
        ]
    )
    out = fill.numbers_json(nums, None, {"commit": "abc", "dirty": "false"})
    assert out["numbers"]["Seed"]["mlflow_run_id"] == "untracked"
    assert out["mlflow_build_run_id"] == "untracked" and out["order"] == ["Seed"]
    t = fill.trace(
        "table_x", {"params_hash": "f" * 64}, None, {"commit": "a" * 40, "dirty": "true"}
    )
    assert t == {
        "rule": "table_x",
        "config_hash": "f" * 12,
        "git_commit": "a" * 12 + "+dirty",
        "mlflow_run_id": "untracked",
    }
    assert fill.trace_text(t, "en").endswith("MLflow `untracked`")
    tracked = {"steps": {"numbers": {"run_id": "r" * 32}}}
    assert fill.numbers_json(nums, tracked, {})["numbers"]["Seed"]["mlflow_run_id"] == "r" * 32
