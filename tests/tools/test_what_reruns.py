"""docs/what-reruns.md is the one list of what an edit reruns: generated from Snakemake's DAG by
lnpaper.tools.what_reruns, and regenerated here so that it cannot drift from the rules."""

from __future__ import annotations

from pathlib import Path

from lnpaper.tools import what_reruns

ROOT = Path(__file__).resolve().parents[2]

# a dry-run listing: data -> exp -> table_t, other -> table_t2, data's benchmark -> runtime
LISTING = """
Building DAG of jobs...
rule data:
    input: src/lnpaper/pipeline/io.py
    output: results/data/m.parquet, results/manifests/data.json
    log: results/logs/data.log
    benchmark: results/benchmarks/data.tsv
rule exp:
    input: results/data/m.parquet, src/lnpaper/experiments/exp.py
    output: results/experiments/exp/a.parquet, results/manifests/exp.json
    log: results/logs/exp.log
rule other:
    input: src/lnpaper/experiments/other.py
    output: results/experiments/other/b.parquet
    log: results/logs/other.log
rule table:
    input: results/experiments/exp/a.parquet
    output: results/tables/t.md
    log: results/logs/table_t.log
    wildcards: name=t
rule table:
    input: results/experiments/other/b.parquet
    output: results/tables/t2.md
    log: results/logs/table_t2.log
rule runtime:
    input: results/benchmarks/data.tsv
    output: results/tables/runtime.md
    log: results/logs/runtime.log
localrule all:
    input: results/tables/t.md, results/experiments/other/b.parquet
"""


def test_a_file_reruns_its_readers_and_what_is_built_from_them():
    jobs = what_reruns.parse_dry_run(LISTING)
    assert [j.step for j in jobs] == ["data", "exp", "other", "table_t", "table_t2", "runtime"]
    # the benchmark file is written by its job, so runtime follows data
    assert what_reruns.reruns_of_file(jobs, "src/lnpaper/pipeline/io.py") == {
        "data",
        "exp",
        "table_t",
        "runtime",
    }
    assert what_reruns.reruns_of_file(jobs, "src/lnpaper/experiments/other.py") == {
        "other",
        "table_t2",
    }
    assert what_reruns.reruns_of_file(jobs, "src/lnpaper/tools/cli.py") == set()
    assert what_reruns.reruns_of_section(jobs, "exp") == {"exp", "table_t"}
    assert what_reruns.experiment_sections(jobs) == ["exp", "other"]


def test_reruns_are_described_rule_by_rule_in_the_order_the_stages_run():
    jobs = what_reruns.parse_dry_run(LISTING)
    assert what_reruns.describe(jobs, {"table_t", "exp", "data"}) == "data, exp, table_t"
    assert what_reruns.describe(jobs, {"table_t2", "table_t", "other"}) == "other, every table (2)"
    assert what_reruns.describe(jobs, set()) == "no job"
    page = what_reruns.page(jobs, ["src/lnpaper/experiments/exp.py", "src/lnpaper/tools/cli.py"])
    assert "| `src/lnpaper/experiments/exp.py` | exp, table_t |" in page
    assert "| `exp:` | exp, table_t |" in page
    assert page.rstrip().endswith("`src/lnpaper/tools/cli.py`")
