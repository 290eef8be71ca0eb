"""A table with no rows under a config (every condition it reports left out) prints one sentence
naming the experiment(s) that feed it, in Markdown and LaTeX, instead of a header with no body."""

from __future__ import annotations

import pandas as pd
import pytest

from lnpaper.report import formatting

EMPTY = pd.DataFrame({"scale": pd.Series(dtype=float), "growth_rate": pd.Series(dtype=float)})


@pytest.mark.parametrize("language", ["vi", "en"])
def test_empty_table_names_the_experiment_that_did_not_run_it(language):
    md = formatting.to_markdown(EMPTY, language, ["matmul"])
    assert md.count("\n") == 1 and "|" not in md
    assert "`matmul`" in md
    assert md.strip("*\n") == formatting.empty_note(["matmul"], language)
    tex = formatting.to_latex(EMPTY, language, ["matmul", "affine"])
    assert formatting.table_layout(tex)["env"] == "tabular"
    assert r"\begin{tabular}" not in tex
    assert "matmul" in tex and "affine" in tex


def test_notes_differ_by_language_and_a_table_with_rows_is_a_table():
    assert formatting.empty_note(["affine"], "vi") != formatting.empty_note(["affine"], "en")
    md = formatting.to_markdown(pd.DataFrame({"scale": [1.0]}), "en", ["matmul"])
    assert md.startswith("|") and "matmul" not in md


def test_write_table_keeps_the_columns_in_the_csv_and_the_note_in_md_and_tex(tmp_path):
    paths = [tmp_path / f"t.{ext}" for ext in ("csv", "md", "tex")]
    formatting.write_table(EMPTY, *paths, "en", ["matmul"])
    assert paths[0].read_text().strip() == "scale,growth_rate"
    assert "no rows" in paths[1].read_text()
    assert "no rows" in paths[2].read_text()
