"""lnpaper bench's schedule of a build: total CPU, critical path, ideal wall at a core count, read
from a DAG and each job's CPU seconds; and the rows the bench table prints from it."""

from __future__ import annotations

import pytest

from lnpaper.tools.bench import report
from lnpaper.tools.bench.schedule import (
    critical_path,
    ideal_wall,
    parents_of,
    summarise,
    table_schedule,
)
from lnpaper.tools.what_reruns import Job

# data -> three experiments (one of them long, one on 2 threads) -> a table reading all three
CPU = {"data": 2.0, "a": 10.0, "b": 4.0, "c": 6.0, "table": 1.0}
PARENTS = {"data": set(), "a": {"data"}, "b": {"data"}, "c": {"data"}, "table": {"a", "b", "c"}}


def test_the_critical_path_is_the_longest_chain_of_dependent_jobs():
    assert critical_path(CPU, PARENTS) == (13.0, ["data", "a", "table"])
    # a job on 2 threads runs its CPU seconds in half the time
    assert critical_path({**CPU, "a": 20.0}, PARENTS, {"a": 2}) == (13.0, ["data", "a", "table"])


@pytest.mark.parametrize(
    ("cores", "wall"),
    [(1, 23.0), (2, 13.0), (4, 13.0)],  # 2 cores: a alone, b then c beside it
)
def test_the_ideal_wall_schedules_the_longest_chain_first(cores, wall):
    assert ideal_wall(CPU, PARENTS, cores) == wall


def test_a_job_on_more_threads_than_cores_takes_them_all():
    assert ideal_wall({"m": 8.0}, {"m": set()}, 2, {"m": 4}) == 4.0
    assert ideal_wall({"m": 8.0, "x": 2.0}, {"m": set(), "x": set()}, 2, {"m": 2}) == 6.0


def test_the_summary_names_the_largest_job_and_the_walls_by_core_count():
    s = summarise(CPU, PARENTS)
    assert s["total_cpu_s"] == 23.0 and s["largest_job"] == "a"
    assert s["largest_share"] == pytest.approx(10 / 23)
    assert s["ideal_wall_s"] == {"2": 13.0, "4": 13.0, "8": 13.0, "16": 13.0}
    text = table_schedule(s)
    assert "| total CPU (s) | 23.0 |" in text and "| critical path (s) | 13.0 |" in text
    assert "43.5 %" in text and "data -> a -> table" in text
    rows = report._schedule_rows([s])
    assert rows[1] == (
        "largest job (a) / total CPU",
        "0.435 / 0.435 / 0.435",
        "<= 0.15",
        "missed by 190 %",
    )
    assert [r[0] for r in rows[3:]] == [f"ideal wall at {c} cores (s)" for c in (2, 4, 8, 16)]


def test_a_job_depends_on_the_jobs_that_write_its_inputs():
    jobs = [
        Job("data", "data", {"output": ["d.parquet"], "benchmark": ["b/data.tsv"]}),
        Job("exp", "exp", {"input": ["d.parquet", "src/x.py"], "output": ["e.parquet"]}),
        Job("runtime", "runtime", {"input": ["b/data.tsv"]}),
    ]
    assert parents_of(jobs) == {"data": set(), "exp": {"data"}, "runtime": {"data"}}


def test_jobs_that_wait_for_a_job_that_never_runs_are_reported():
    with pytest.raises(ValueError, match="never run"):
        ideal_wall({"a": 1.0}, {"a": {"ghost"}}, 2)
