"""The manuscript target: the template filler, provenance stamps, the bundle, and the numbers
and captions of a build without MLflow (the quoted numbers: report/test_numbers.py; the built
manuscript: e2e/test_manuscript_build.py)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, TEMPLATES
from lnpaper.manuscript import bundle, fill, stamp
from lnpaper.manuscript.template import TemplateError
from lnpaper.pipeline import registry
from lnpaper.report import numbers

ALL_ON = {e: {"enabled": True} for e in registry.EXPERIMENTS}


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
    # the main text's caption names no step, hash or commit; its hover title does
    assert "| a |" in out and ": Lưới γ, β [Nguồn gốc]{.trace title=" in out
    assert "`x`" not in out and "commit: deadbeef" in out
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


def test_every_defined_number_is_quoted_or_compared_by_both_manuscripts():
    from lnpaper.manuscript.conditions import bound_numbers

    for language, text in TEMPLATES.items():
        used = set(fill.referenced(text, "num")) | bound_numbers(text)
        assert {n.name for n in numbers.SPEC} == used, language


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
