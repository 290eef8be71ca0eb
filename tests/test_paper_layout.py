"""The manuscript as a reader gets it: number formatting, compact main-text tables, table
placement, provenance links, the MECA manifest and the diff between two builds."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from lnpaper.manuscript import diff, fill, meca
from lnpaper.pipeline import registry
from lnpaper.report import formatting, labels, tables

TEMPLATES = {
    lang: (ROOT / f"manuscript/paper.{lang}.md").read_text(encoding="utf-8")
    for lang in ("vi", "en")
}


# ---------------------------------------------------------------- numbers as a reader expects


@pytest.mark.parametrize(
    "half, decimals",
    [(0.0072, 3), (0.007, 3), (0.0096, 3), (0.015, 3), (0.25, 2), (0.35, 1), (3.0, 0), (0.1, 2)],
)
def test_decimals_follow_the_uncertainty(half, decimals):
    assert formatting.decimals_for(half) == decimals


def test_estimate_with_interval_prints_digits_the_interval_resolves():
    assert formatting.fmt_pm(1.69095, 1.684, 1.698) == "1.691 ± 0.007"
    assert formatting.fmt_ci(1.684, 1.698) == "[1.684, 1.698]"
    assert formatting.fmt_pm(2.0, math.nan, math.nan) == "2"  # no interval: plain fmt


def test_no_e_notation_and_theory_zero_by_construction_prints_zero():
    assert formatting.fmt(2.2e-16) == "2.2·10⁻¹⁶"
    assert formatting.fmt(3.5e7) == "3.5·10⁷"
    df = pd.DataFrame(
        {
            "growth_rate_mean": [0.0004, 1.121],
            "growth_rate_ci_low": [-0.05, 1.087],
            "growth_rate_ci_high": [0.06, 1.155],
            "growth_rate_theory": [1.104e-12, 1.1],  # ln s + λ₁ at s = s*: zero up to rounding
            "max_abs_diff": [2.2e-16, 4.4e-16],  # a measured tiny value stays as it is
        }
    )
    md = formatting.to_markdown(df, "en")
    assert "e-" not in md and "e+" not in md
    rows = [r.split("|")[1:-1] for r in md.splitlines()[2:]]
    assert rows[0][2].strip() == "0" and rows[1][2].strip() == "1.1"
    assert rows[0][3].strip() == "2.2·10⁻¹⁶"
    assert rows[1][0].strip() == "1.12" and rows[1][1].strip() == "[1.09, 1.16]"
    assert "$^{-16}$" in formatting.tex_escape("2.2·10⁻¹⁶")


def test_value_keyed_columns_and_verdicts_are_localized():
    assert labels.label("beta=2", "vi") == "β = 2"
    err = "Expected more than 1 value per channel when training, got input size [1, 64]"
    assert labels.label(err, "vi").startswith("lỗi") and labels.label(err, "en").startswith("error")
    for verdict in ("holds", "fails", "holds_only_if", "inconclusive"):
        assert labels.label(verdict, "vi") != labels.label(verdict, "en")


# ---------------------------------------------------------------- main-text tables


def growth_frame() -> pd.DataFrame:
    rows = []
    for dist in ("normal", "scaled_normal", "orthogonal"):
        for n in (10, 30):
            for s in (0.5, 1.0, 1.5, 2.0, 0.19):
                for ln in (False, True):
                    rate = math.log(s) + (1.7 if dist == "normal" else 0.0)
                    rows.append(
                        dict(
                            b_dist=dist,
                            n=n,
                            scale=s,
                            layernorm=ln,
                            growth_rate_mean=rate,
                            growth_rate_ci_low=rate - 0.01,
                            growth_rate_ci_high=rate + 0.01,
                            growth_rate_theory=rate,
                            draw_set=f"{dist}/n={n}",
                            rate_minus_log_scale=rate - math.log(s),
                            frobenius_rate_mean=rate + 0.004,
                            frobenius_rate_ci_low=rate - 0.006,
                            frobenius_rate_ci_high=rate + 0.014,
                            growth_factor=math.exp(rate),
                            overflow_step_median=np.nan,
                            entry_overflow_step_median=np.nan,
                            critical_scale_theory=0.18,
                            critical_scale_measured=0.18,
                            final_norm_median=30.0,
                        )
                    )
    return pd.DataFrame(rows)


def test_scale_main_is_table_5_1_plus_the_fix():
    cfg = {"scales": [0.5, 1.0, 1.5, 2.0], "near_critical_tol": 0.02}
    t = tables.build("scale_main", {"matmul/growth": growth_frame()}, cfg)
    assert list(t["b_dist"]) == ["normal"] * 4 + ["scaled_normal", "orthogonal"]
    assert list(t["scale"]) == [0.5, 1.0, 1.5, 2.0, 1.0, 1.0]  # the grid point 0.19 is left out
    full = tables.build("scale_behavior", {"matmul/growth": growth_frame()}, cfg)
    assert len(full) == 30 and len(t.columns) < len(full.columns)


def test_affine_main_is_the_three_by_three_grid():
    rows = [
        dict(
            gamma=g,
            beta=b,
            seed=s,
            mean=b + 1e-9,
            std_biased=g * 0.99999,
            std_unbiased=g,
            mean_theory=b,
            std_biased_theory=g * 0.99999,
        )
        for g in (1.0, 2.0, 3.0)
        for b in (0.0, 2.0, 5.0)
        for s in range(2)
    ]
    t = tables.build("affine_main", {"affine/stats": pd.DataFrame(rows)}, {})
    assert t.shape == (3, 4) and list(t.columns) == ["gamma", "beta=0", "beta=2", "beta=5"]
    assert t.loc[2, "beta=5"] == "5.000 / 3.000" and t.loc[0, "beta=0"] == "0.000 / 1.000"
    md = formatting.to_markdown(t, "vi")
    assert "| γ | β = 0 | β = 2 | β = 5 |" in md


def test_bn_vs_ln_main_has_one_row_per_property_and_a_column_per_normalizer():
    rows = []
    for norm in ("batchnorm", "layernorm"):
        for mode in ("train", "eval"):
            for b in (1, 2, 8):
                dep = norm == "batchnorm" and mode == "train"
                rows.append(
                    dict(
                        norm=norm,
                        mode=mode,
                        batch_size=b,
                        output_std=(np.nan if b == 1 else 0.7 / math.sqrt(b)) if dep else 0.0,
                        error="Expected more than 1 value" if dep and b == 1 else "",
                        runs=not (dep and b == 1),
                        informative=True,
                        matches_batched_output=not dep,
                    )
                )
    t = tables.build("bn_vs_ln_main", {"batch_dependence/stats": pd.DataFrame(rows)}, {})
    assert list(t.columns) == ["property", "batchnorm", "layernorm"]
    got = t.set_index("property")
    assert got.at["batch_dependent", "batchnorm"] and not got.at["batch_dependent", "layernorm"]
    assert got.at["loglog_slope", "batchnorm"] == pytest.approx(-0.5)
    assert not got.at["online_ok", "batchnorm"] and got.at["online_ok", "layernorm"]
    assert not got.at["train_eval_same", "batchnorm"] and got.at["train_eval_same", "layernorm"]


def test_claims_main_is_one_localized_line_per_claim():
    claims = pd.DataFrame(
        {
            "claim_id": ["a", "b"],
            "section": ["5.1", "4.1.2"],
            "claim": ["Nếu s < 1: chuẩn → 0", "Độ lệch chuẩn ≈ 1"],
            "measured": ["normal s=0.5: explodes ...", "biased 1.0"],
            "theory": ["x", "y"],
            "verdict": ["holds_only_if", "inconclusive"],
            "value": [0.4279546962, 1.0171],
        }
    )
    t = tables.claims_summary(claims, "vi")
    assert list(t.columns)[:4] == ["section", "claim", "verdict", "value"] and len(t) == 2
    md = formatting.to_markdown(t, "vi")
    assert "chỉ đúng khi" in md and "chưa kết luận được" in md and "0.428" in md
    assert "explodes" not in md  # the English measured strings stay in the supplement


# ---------------------------------------------------------------- placement


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


# ---------------------------------------------------------------- provenance links


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
    assert f"runs/{'f' * 32})" in out and "](../../src/lnpaper/report/figures.py)" in out
    assert (ROOT / "results/manuscript" / fill.FIGURE_SOURCE_LINK).resolve() == (
        ROOT / "src/lnpaper/report/figures.py"
    )
    server = {**tracking, "tracking_uri": "http://mlflow.lab:8080/"}
    assert fill.mlflow_ui(server) == "http://mlflow.lab:8080/#/experiments/7"


def test_untracked_numbers_keep_a_title_and_no_link():
    out = fill.fill("{{num:Seed}}", provenance_build(None))
    assert out.startswith('[42]{.num data-name="Seed" title="source: config.yaml')
    assert "untracked" in out and "http" not in out


# ---------------------------------------------------------------- MECA manifest


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


# ---------------------------------------------------------------- the diff of two builds


def snap(label, nums, table, verdicts, paper="") -> diff.Snapshot:
    return diff.Snapshot(
        label=label,
        numbers=nums,
        tables={"affine_main": table},
        claims=pd.DataFrame(
            {
                "claim_id": list(verdicts),
                "claim": list(verdicts),
                "verdict": list(verdicts.values()),
            }
        ),
        paper=paper,
    )


def test_diff_marks_exactly_the_changed_numbers_cells_and_verdicts():
    t_a = "| γ | β = 0 |\n|---|---|\n| 1 | 0 / 1.000 |\n| 3 | 0 / 3.000 |\n"
    t_b = "| γ | β = 0 |\n|---|---|\n| 1 | 0 / 1.000 |\n| 4 | 0 / 4.000 |\n"
    paper = (
        'Mean [[5.000](http://x/runs/1)]{.num data-name="AffMean" title="t"}, '
        'seed [42]{.num data-name="Seed" title="t"}, nan [–]{.num data-name="Gone" title="t"}.'
        f"\n\n{t_b}"
    )
    a = snap(
        "A",
        {"AffMean": (5.0, "5.000"), "Seed": (42.0, "42"), "Gone": (math.nan, "–")},
        t_a,
        {"c1": "holds", "c2": "fails"},
    )
    b = snap(
        "B",
        {"AffMean": (5.5, "5.500"), "Seed": (42.0, "42"), "Gone": (math.nan, "–")},
        t_b,
        {"c1": "holds", "c2": "holds_only_if"},
        paper,
    )
    d = diff.compute(a, b)
    assert d.numbers == {"AffMean": ("5.000", "5.500")}
    assert d.verdicts == [("c2", "c2", "fails", "holds_only_if")]
    assert d.cells == {"affine_main": [(2, 0, "3", "4"), (2, 1, "0 / 3.000", "0 / 4.000")]}
    assert d.summary("en") == "1 numbers changed, 1 verdicts flipped, 2 table cells changed."
    marked = diff.marked_paper(b, d)
    assert marked.count(".num-changed") == 1 and "[~~5.000~~ → 5.500]" in marked
    assert 'seed [42]{.num data-name="Seed"' in marked
    assert marked.count("<mark>") == 2


def test_diff_html_is_written_with_the_summary_first(tmp_path):
    a = snap("A", {"X": (1.0, "1")}, "| a |\n|---|\n| 1 |\n", {"c": "holds"})
    b = snap("B", {"X": (2.0, "2")}, "| a |\n|---|\n| 2 |\n", {"c": "fails"}, "x\n")
    out = tmp_path / "diff.html"
    diff.write_diff(a, b, out, "vi")
    page = out.read_text(encoding="utf-8")
    body = page.split("<body")[1]
    assert body.index("1 con số thay đổi, 1 kết luận đổi, 1 ô bảng thay đổi") < body.index("<h2")
    assert 'class="num-changed"' in page


# ---------------------------------------------------------------- end to end, on the tiny build


def page_ink(png) -> np.ndarray:
    from PIL import Image

    with Image.open(png) as img:
        return np.asarray(img.convert("L")) < 200  # True where something is drawn


def test_table_fit_finds_a_table_whose_words_cannot_fit(tmp_path):
    from lnpaper.manuscript import render

    header = " | ".join(f"Supercalifragilistic{i}" for i in range(14))
    wide = f"| {header} |\n|{'---|' * 14}\n| {' | '.join(['x'] * 14)} |\n"
    narrow = "| a | b |\n|---|---|\n| results/experiments/x.parquet;results/y | 2 |\n"
    (w,) = render.table_fit(wide, tmp_path)
    assert w["needed"] > w["available"] == pytest.approx(595.28 - 180)
    (n,) = render.table_fit(render.SUPPLEMENT_TYPST + "\n\n" + narrow, tmp_path)
    assert n["part"] == "supplement" and n["needed"] < 200 < n["available"]


@pytest.mark.slow
def test_pdf_pages_rendered_fit_the_page_and_the_main_text_is_short(tiny_build, tmp_path):
    """Looked at, not only parsed: the pages render to PNG; the main text stays within 12 pages,
    each of its tables within half a page; no table column is narrower than its longest word
    (Typst would squeeze it and let the words run over each other or into the margin)."""
    from lnpaper.manuscript import render

    work, _ = tiny_build
    out = work / "results/manuscript"
    md = (out / "paper.md").read_text(encoding="utf-8")
    src = out / ".test.typ"
    src.write_text(render.typst_source(md, "vi", render.TITLE["vi"]), encoding="utf-8")
    try:
        counts = render.page_counts(src, out)
    finally:
        src.unlink()
    assert 0 < counts["main"] <= 12 < counts["total"] + 12
    assert counts["total"] > counts["main"]  # a supplement follows
    heights = render.table_heights(md, out)
    main = [h for h in heights if h["page"] <= counts["main"]]
    assert len(main) == len(registry.MAIN_TABLES)
    assert all(h["height"] <= render.text_height_pt() / 2 for h in main), main
    fits = render.table_fit(md, out)
    assert len(fits) == len(heights)
    assert [f["header"] for f in fits if f["needed"] > f["available"]] == []
    render.render_pages(md, str(tmp_path / "p{p}.png"), out, "vi", ppi=30)
    pages = sorted(tmp_path.glob("p*.png"), key=lambda p: int(p.stem[1:]))
    assert len(pages) == counts["total"]
    for page in pages:
        ink = page_ink(page)
        margin = int(0.6 * 30)  # well inside the 1.25-inch side margins
        assert not ink[:, -margin:].any() and not ink[:, :margin].any(), page.name


@pytest.mark.slow
def test_docx_holds_every_number_and_the_vietnamese_tables_have_no_english_cells(tiny_build):
    import json

    import pypandoc

    work, _ = tiny_build
    out = work / "results/manuscript"
    text = pypandoc.convert_file(str(out / "paper.docx"), "plain", extra_args=["--wrap=none"])
    listed = json.loads((out / "numbers.json").read_text())["numbers"]
    missing = [n for n, v in listed.items() if v["text"] not in text]
    assert missing == []
    md = (out / "paper.md").read_text(encoding="utf-8")
    main = md.split("Phụ lục: các bảng đầy đủ")[0]
    english = re.compile(r"\b(explodes|decays|holds|fails|measured|theory)\b")
    for line in main.splitlines():
        if line.startswith("|"):
            assert not english.search(line), line


@pytest.mark.slow
def test_diff_after_changing_gamma_marks_exactly_the_changed_numbers(tiny_build, tmp_path):
    import shutil

    import yaml

    from conftest import snakemake
    from lnpaper.tools.cli import main

    built = tiny_build[0]
    work = tmp_path / "work"
    shutil.copytree(
        built, work, symlinks=True, ignore=shutil.ignore_patterns("mlflow.db*", "mlartifacts")
    )
    shutil.copytree(work / "results", tmp_path / "before")
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
    cfg["affine"] = {"gamma": [1.0, 2.0, 3.5]}
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--cores", "2", "--configfile", "changed.yaml")
    out = tmp_path / "diff.html"
    assert main(["diff", str(tmp_path / "before"), str(work / "results"), "--out", str(out)]) == 0

    a = diff.load(tmp_path / "before")
    b = diff.load(work / "results")
    nan = (math.nan, "–")

    def same(x, y):
        return x[1] == y[1] and (x[0] == y[0] or (math.isnan(x[0]) and math.isnan(y[0])))

    changed = {
        n
        for n in set(a.numbers) | set(b.numbers)
        if not same(a.numbers.get(n, nan), b.numbers.get(n, nan))
    }
    page = out.read_text(encoding="utf-8")
    marked = set(re.findall(r'class="num-changed" data-name="(\w+)"', page))
    assert changed and marked == changed & set(re.findall(r'data-name="(\w+)"', b.paper))
    nums = pd.read_parquet(work / "results/manuscript/numbers.parquet").set_index("name")
    assert all(
        "affine" in nums.at[n, "source"] or "claims" in nums.at[n, "source"] for n in changed
    )
    d = diff.compute(a, b)
    assert set(d.cells) <= {"affine_grid", "affine_main", "claims", "claims_main"}
    assert "affine_main" in d.cells and "scale_main" not in d.cells
    assert d.summary("vi").split(" ")[0] == str(len(changed))
    assert d.summary("vi") in page.split("<h2")[0]


def test_diff_of_the_last_two_mlflow_builds(tmp_path):
    """``lnpaper diff`` with no arguments: the two latest builds in MLflow, read back from the
    artifacts of their numbers and table runs."""
    from lnpaper.pipeline import io
    from lnpaper.tools.cli import main
    from lnpaper.tracking.store import log_build

    uri = f"sqlite:///{tmp_path / 'm.db'}"

    def build(k: int, value: float, cell: str) -> list[str]:
        d = tmp_path / f"b{k}"
        d.mkdir()
        nums = pd.DataFrame(
            {"name": ["X", "Seed"], "value": [value, 42.0], "text": [f"{value:g}", "42"]}
        )
        io.write_parquet(nums, d / "numbers.parquet")
        (d / "affine_main.md").write_text(f"| γ | β = 0 |\n|---|---|\n| 1 | {cell} |\n")
        manifests = []
        for step, outs in (
            ("numbers", ["numbers.parquet"]),
            ("table_affine_main", ["affine_main.md"]),
        ):
            m = {
                "step": step,
                "kind": "table" if step.startswith("table") else "numbers",
                "params": {},
                "params_hash": "h",
                "metrics": {},
                "inputs": {},
                "outputs": {o: {"path": str(d / o), "sha256": io.file_digest(d / o)} for o in outs},
            }
            io.write_json(m, d / f"{step}.json")
            manifests.append(str(d / f"{step}.json"))
        return manifests

    log_build(build(1, 1.5, "0 / 1.000"), uri, "e", {})
    log_build(build(2, 2.5, "0 / 2.000"), uri, "e", {})
    out = tmp_path / "diff.html"
    argv = ["diff", "--tracking-uri", uri, "--experiment", "e", "--out", str(out)]
    assert main([*argv, "--results", str(tmp_path / "results"), "--language", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "1 numbers changed, 0 verdicts flipped, 1 table cells changed." in page
    assert "<del>1.5</del>" in page and "<del>0 / 1.000</del> → 0 / 2.000" in page


def test_an_interval_of_zero_width_up_to_rounding_prints_the_default_digits():
    # orthogonal products: the rate is exactly ln s, its bootstrap interval is [x, x] up to 1e-16
    x = -0.6931471805599453
    assert formatting.decimals_for(1e-16) is None
    assert formatting.fmt_ci(x - 1e-16, x) == "[−0.6931, −0.6931]"
    assert formatting.decimals_for(0.0072) == 3


def test_diff_html_embeds_the_newer_papers_figures(tmp_path):
    """A figure of the newer paper (figures/<name>.png beside its paper.md) is embedded, so
    diff.html is self-contained like paper.html."""
    import base64

    folder = tmp_path / "b" / "manuscript"
    (folder / "figures").mkdir(parents=True)
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    (folder / "figures" / "f.png").write_bytes(png)
    a = snap("A", {"X": (1.0, "1")}, "| a |\n|---|\n| 1 |\n", {"c": "holds"})
    b = snap(
        "B", {"X": (2.0, "2")}, "| a |\n|---|\n| 2 |\n", {"c": "holds"}, "![f](figures/f.png)\n"
    )
    b.extra["resources"] = [str(folder)]
    out = tmp_path / "out" / "diff.html"
    diff.write_diff(a, b, out, "en")
    page = out.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in page and 'src="figures/' not in page
