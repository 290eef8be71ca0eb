"""``lnpaper compare`` and ``lnpaper builds`` on a small store: section order, id resolution, and
one-line errors (no traceback) for ids that name no build or several."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import copy_mlflow_store
from lnpaper.pipeline import io
from lnpaper.tracking.compare import (
    builds_table,
    compare,
    list_builds,
    resolve,
    section_of,
    short_id,
)
from lnpaper.tracking.store import TrackingError, log_build, open_client

ROOT = Path(__file__).resolve().parents[2]


def manifest(
    tmp: Path, step: str, metrics: dict, kind: str = "experiment", out=None, wall: float = 1.0
) -> str:
    """A step manifest as compute steps leave it (see tests/test_tracking.py)."""
    outputs = {}
    if out is not None:
        outputs["csv"] = {"path": str(out), "sha256": io.file_digest(out)}
    data = {
        "step": step,
        "kind": kind,
        "params": {"seed": 42},
        "params_hash": "h",
        "metrics": metrics,
        "inputs": {},
        "outputs": outputs,
        "versions": {},
        "host": {},
        "timing": {"wall_s": wall, "cpu_s": 0.5, "finished_at": "2026-01-01T00:00:00+0000"},
    }
    path = tmp / f"{step}.json"
    io.write_json(data, path)
    return str(path)


def claims_csv(tmp: Path, verdicts: dict[str, str]) -> Path:
    path = tmp / "claims.csv"
    pd.DataFrame({"claim_id": list(verdicts), "verdict": list(verdicts.values())}).to_csv(
        path, index=False
    )
    return path


def build(tmp: Path, uri: str, gamma: str, value: float, verdict: str, wall: float) -> str:
    """One build: an experiment step, the claims table, the numbers, a runtime step; returns its
    run id. A step's files live in a folder named by its content, so a step whose content did not
    change leaves the same manifest (and its run is reused, as in a real rebuild)."""

    def folder(name):
        path = tmp / name
        path.mkdir(exist_ok=True)
        return path

    claims = claims_csv(folder(f"claims-{verdict}"), {"c-stable": "holds", "c-gamma": verdict})
    counts = {"verdict.holds": 1.0 + (verdict == "holds")}
    if verdict != "holds":
        counts[f"verdict.{verdict}"] = 1.0
    numbers = folder(f"numbers-{value}") / "numbers.parquet"
    io.write_parquet(pd.DataFrame({"name": ["err", "n"], "value": [value, 3.0]}), numbers)
    paths = [
        manifest(folder(f"affine-{value}-{wall}"), "affine", {"max_err": value}, wall=wall),
        manifest(folder(f"claims-{verdict}"), "table_claims", counts, "table", claims),
        manifest(folder(f"numbers-{value}"), "numbers", {}, "numbers", numbers),
        manifest(folder(f"runtime-{wall}"), "runtime", {"wall_s.affine": wall}, "table"),
    ]
    config = {"affine.gamma": gamma, "seed": "42"}
    summary = log_build(paths, uri, "e", {"config_hash": f"h{gamma}", "config": config})
    SUMMARIES[summary["build_run_id"]] = summary
    return summary["build_run_id"]


SUMMARIES: dict[str, dict] = {}  # build run id -> what log_build returned (build.json)


@pytest.fixture(scope="module")
def store(tmp_path_factory, migrated_mlflow_db):
    """Three builds: a γ edit (a metric and a verdict change), then a rebuild with only a
    different timing."""
    tmp = tmp_path_factory.mktemp("store")
    uri = copy_mlflow_store(migrated_mlflow_db, tmp / "m.db")
    first = build(tmp, uri, "[1, 2, 3]", 1.0, "holds", 1.0)
    second = build(tmp, uri, "[1, 2, 4]", 2.0, "fails", 1.0)
    third = build(tmp, uri, "[1, 2, 4]", 2.0, "fails", 3.0)
    return uri, [first, second, third]


def table_rows(md: str, heading: str) -> list[str]:
    """The body rows of the table under ``## heading``."""
    part = md.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("| ")][1:]


def test_compare_leads_with_config_then_metrics_then_verdicts_and_hides_timings(store):
    uri, (first, second, _third) = store
    md = compare(uri, "e", first[:12], second)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Config", "## Science metrics", "## Claim verdicts"]
    assert table_rows(md, "Config") == [
        "| params.affine.gamma | [1, 2, 3] | [1, 2, 4] |  |",
    ]
    assert table_rows(md, "Science metrics") == ["| metrics.affine.max_err | 1 | 2 | +1 |"]
    verdicts = table_rows(md, "Claim verdicts")
    assert "| verdict.c-gamma | holds | fails |  |" in verdicts
    assert not any("c-stable" in r for r in verdicts)  # an unchanged verdict is not listed
    assert "wall_s" not in md and "## Timings" not in md


def test_timings_only_with_the_flag_and_after_the_science(store):
    uri, (_first, second, third) = store
    quiet = compare(uri, "e", second, third)
    # nothing but a timing changed: the config and verdict sections say so, no metric table
    assert table_rows(quiet, "Config") == ["| (no differences) | | | |"]
    assert "## Science metrics" not in quiet and "## Timings" not in quiet
    assert "2 timing(s) differ too; `--timings` lists them." in quiet
    loud = compare(uri, "e", second, third, timings=True)
    assert loud.index("## Claim verdicts") < loud.index("## Timings")
    rows = table_rows(loud, "Timings")
    assert "| metrics.runtime.wall_s.affine | 1 | 3 | +2 |" in rows
    assert "| metrics.affine.time.wall_s | 1 | 3 | +2 |" in rows


def test_default_is_previous_against_latest_and_aliases_resolve(store):
    uri, (_first, second, third) = store
    md = compare(uri, "e")
    assert f"A {second[:8]}" in md and f"B {third[:8]}" in md
    assert compare(uri, "e", "previous", "latest") == md
    client, exp_id = open_client(uri, "e")
    builds = list_builds(client, exp_id)
    assert [resolve(builds, r).info.run_id for r in ("latest", "previous")] == [third, second]
    assert resolve(builds, third.upper()[:10]).info.run_id == third


def test_ids_that_name_no_build_or_several_are_one_line_errors(store):
    uri, _ids = store
    client, exp_id = open_client(uri, "e")
    builds = list_builds(client, exp_id)
    with pytest.raises(TrackingError, match="no build 'zzzz'.*lnpaper builds"):
        resolve(builds, "zzzz")
    with pytest.raises(TrackingError, match="no build ''"):
        resolve(builds, "")
    fake = [SimpleNamespace(info=SimpleNamespace(run_id=i)) for i in ("ab12cd34ef", "ab12cd34gh")]
    with pytest.raises(TrackingError, match=r"'ab12' names 2 builds \(ab12cd34e, ab12cd34g\)"):
        resolve(fake, "ab12")
    assert resolve(fake, "ab12cd34g") is fake[1]
    with pytest.raises(TrackingError, match="no previous build: the store holds 1 build"):
        resolve(fake[:1], "previous")
    # through the command: exit 1, one line on stderr, nothing on stdout
    proc = subprocess.run(
        [sys.executable, "-m", "lnpaper.tools.cli", "compare", "nonexistent", "latest"]
        + ["--tracking-uri", uri, "--experiment", "e"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: no build 'nonexistent'") and proc.stderr.count("\n") == 1


def test_short_ids_are_unique_prefixes():
    ids = ["abcdefgh11", "abcdefgh22", "12345678zz"]
    assert [short_id(i, ids) for i in ids] == ["abcdefgh1", "abcdefgh2", "12345678"]


def test_section_of_sorts_keys_into_sections():
    assert section_of("params.affine.gamma") == "config"
    assert section_of("metrics.affine.max_err") == "metrics"
    assert section_of("metrics.table_claims.verdict.holds") == "verdicts"
    assert section_of("verdict.c-gamma") == "verdicts"
    assert section_of("metrics.runtime.cpu_s.matmul") == "timings"
    assert section_of("metrics.matmul.time.wall_s") == "timings"


def test_builds_lists_newest_first_with_what_changed(store):
    uri, (first, second, third) = store
    lines = builds_table(uri, "e").splitlines()
    assert lines[0].startswith("| id | started (UTC) | commit | config |")
    body = lines[2:]
    assert [row.split(" |")[0][2:10] for row in body] == [third[:8], second[:8], first[:8]]
    assert body[0].startswith(f"| {short_id(third, [first, second, third])} (latest) |")
    assert body[0].endswith("| no config or commit change |")
    assert body[1].endswith("| config: affine.gamma |") and "h[1, 2, 4]" in body[1]
    assert body[2].endswith("| (first build) |")
    assert "1 older build(s) not shown" in builds_table(uri, "e", limit=2)


def test_build_runs_carry_cost_verdict_counts_and_changes_since_the_build_before(store):
    from mlflow.tracking import MlflowClient

    uri, (first, second, third) = store
    client = MlflowClient(uri)
    m1, m2, m3 = (client.get_run(b).data.metrics for b in (first, second, third))
    assert m1["claims.holds"] == 2 and m1["claims.fails"] == 0
    assert m2["claims.holds"] == 1 and m2["claims.fails"] == 1 and m2["claims.inconclusive"] == 0
    assert m1["build.steps_executed"] == 4 and m1["build.steps_reused"] == 0
    # the first build has nothing to compare with; the γ edit changed one number, one verdict
    assert "changed.numbers" not in m1 and "changed.verdicts" not in m1
    assert m2["changed.numbers"] == 1 and m2["changed.verdicts"] == 1
    assert SUMMARIES[second]["claims_changed"] == [["c-gamma", "holds", "fails"]]
    # the third build re-executed only affine and runtime (other timings): nothing changed
    assert m3["changed.numbers"] == 0 and m3["changed.verdicts"] == 0
    assert m3["build.steps_executed"] == 2 and m3["build.steps_reused"] == 2
    assert m3["build.cpu_s"] == 1.0 and m3["build.wall_s"] >= 0
    assert SUMMARIES[third]["metrics"] == m3 and SUMMARIES[third]["claims_changed"] == []


def test_build_metrics_tag_prefix_is_the_stores():
    from lnpaper.tracking import build_metrics, store

    assert build_metrics.TAG == store.TAG
