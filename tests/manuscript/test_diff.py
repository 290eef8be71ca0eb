"""``lnpaper diff``: exactly the changed numbers, table cells and verdicts of two builds, the
self-contained HTML page, and the two latest builds read back from MLflow."""

from __future__ import annotations

import math

import pandas as pd

from lnpaper.manuscript import diff


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
    assert d.summary("en") == (
        "1 verdicts flipped, 1 numbers changed beyond noise (0 within noise), 2 table cells "
        "changed beyond noise (0 within noise)."
    )
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
    assert body.index("1 kết luận đổi, 1 con số thay đổi vượt nhiễu") < body.index("<h2")
    assert 'class="num-changed"' in page


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


def test_diff_of_the_last_two_mlflow_builds(tmp_path, mlflow_store):
    """``lnpaper diff`` with no arguments: the two latest builds in MLflow, read back from the
    artifacts of their numbers and table runs."""
    from lnpaper.pipeline import io
    from lnpaper.tools.cli import main
    from lnpaper.tracking.store import log_build

    uri = mlflow_store

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
    assert (
        "0 verdicts flipped, 1 numbers changed beyond noise (0 within noise), 1 table cells changed"
        in page
    )
    assert "<del>1.5</del>" in page and "<del>0 / 1.000</del> → 0 / 2.000" in page
