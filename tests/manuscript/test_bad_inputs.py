"""A corpus of bad inputs that are not config values (the config corpus is test_bad_configs.py).

Each ends in one line naming the culprit (file and line, key or argument), with no traceback, a
non-zero exit where a command runs, and the science results' bytes untouched:
- manuscript templates, captions and text.yaml: checked by lnpaper.manuscript.template, called
  directly (the same check runs when the workflow starts, tried once through Snakemake below);
- `lnpaper` arguments: cli.main in this process;
- `--config` values, damaged intermediate files and a second build: through Snakemake, in one copy
  of the shared tiny build (each case is refused before any job, so the copy stays as built).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, snakemake
from lnpaper.manuscript import template
from lnpaper.manuscript.template import TemplateError
from lnpaper.tools import cli

EN = (ROOT / "manuscript/paper.en.md").read_text(encoding="utf-8")
SRC = "manuscript/paper.en.md"


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def edited(old: str, new: str) -> tuple[str, int]:
    """The English template with the first ``old`` after its opening note to authors (a comment)
    replaced, and the line of the change (``-->`` itself: the first one)."""
    start = 0 if old == "-->" else EN.index("-->")
    pos = EN.index(old, start)
    return EN[:pos] + new + EN[pos + len(old) :], EN[:pos].count("\n") + 1


# (id, template change (old, new), what the one line must say after "file:line: ")
TEMPLATE_CASES = [
    (
        "number-misspelt",
        ("{{num:MatmulSteps}}", "{{num:MatmulStep}}"),
        "unknown number {{num:MatmulStep}} (did you mean 'MatmulSteps'?)",
    ),
    (
        "number-bad-characters",
        ("{{num:MatmulSteps}}", "{{num:Matmul-Steps}}"),
        "unknown number {{num:Matmul-Steps}}",
    ),
    ("number-empty", ("{{num:MatmulSteps}}", "{{num:}}"), "unknown placeholder {{num:}}"),
    (
        "table-misspelt",
        ("{{table:scale_main}}", "{{table:scale_mian}}"),
        "unknown table {{table:scale_mian}} (did you mean 'scale_main'?)",
    ),
    (
        "figure-misspelt",
        ("{{figure:matmul_norms}}", "{{figure:matmul_norm}}"),
        "unknown figure {{figure:matmul_norm}} (did you mean 'matmul_norms'?)",
    ),
    (
        "table-inline",
        ("{{table:scale_main}}", "see {{table:scale_main}}"),
        "{{table:scale_main}} must stand on a line of its own",
    ),
    (
        "kind-misspelt",
        ("{{num:MatmulSteps}}", "{{nmu:MatmulSteps}}"),
        "unknown placeholder {{nmu:MatmulSteps}} (did you mean 'num'?)",
    ),
    (
        "placeholder-with-spaces",
        ("{{num:MatmulSteps}}", "{{ num:MatmulSteps }}"),
        "unknown placeholder {{ num:MatmulSteps }}",
    ),
    (
        "placeholder-unclosed",
        ("{{num:MatmulSteps}}", "{{num:MatmulSteps}"),
        "placeholder '{{num:MatmulSteps}' is never closed",
    ),
    (
        "supplement-misspelt",
        ("{{supplement}}", "{{suplement}}"),
        "unknown placeholder {{suplement}} (did you mean 'supplement'?)",
    ),
    (
        "supplement-twice",
        ("{{figure:matmul_norms}}", "{{supplement}}"),
        "{{supplement}} appears twice",
    ),
    (
        "requires-unknown-experiment",
        ("{{#requires layernorm_stats}}", "{{#requires layernorm_stat}}"),
        "unknown experiment 'layernorm_stat' (did you mean 'layernorm_stats'?)",
    ),
    (
        "requires-unknown-table",
        ("{{#requires matmul}}", "{{#requires table:scale_mian}}"),
        "unknown table 'scale_mian'",
    ),
    (
        "requires-bad-kind",
        ("{{#requires matmul}}", "{{#requires tabel:claims}}"),
        "'tabel:claims' is neither an experiment nor table:<name> / figure:<name>",
    ),
    ("requires-empty", ("{{#requires matmul}}", "{{#requires}}"), "lists nothing it requires"),
    (
        "requires-unclosed",
        ("{{/requires}}", ""),
        "{{#requires layernorm_stats}} opens inside {{#requires matmul}}",
    ),
    ("requires-stray-close", ("{{#requires matmul}}", ""), "{{/requires}} closes no"),
    (
        "claim-block-unknown-id",
        ("{{#claim 5.1-s-below-1-decays holds}}", "{{#claim 5.1-s-below-1-decay holds}}"),
        "unknown claim '5.1-s-below-1-decay'",
    ),
    (
        "claim-block-unknown-verdict",
        ("{{#claim 5.1-s-below-1-decays holds}}", "{{#claim 5.1-s-below-1-decays hold}}"),
        "unknown verdict 'hold'",
    ),
    (
        "claim-block-no-verdict",
        ("{{#claim 5.1-s-below-1-decays holds}}", "{{#claim 5.1-s-below-1-decays}}"),
        "malformed {{#claim 5.1-s-below-1-decays}}",
    ),
    (
        "claim-block-unclosed",
        ("factor.{{/claim}}", "factor."),
        "{{#claim 5.1-layernorm-stabilises fails}} opens inside {{#claim 5.1-layernorm-stabilises holds}}",
    ),
    (
        "claim-close-misspelt",
        ("factor.{{/claim}}", "factor.{{/claims}}"),
        "unknown placeholder {{/claims}}",
    ),
    ("claim-inline-unknown", ("{{claim:", "{{claim:x"), "unknown claim {{claim:x"),
    (
        "supplement-not-alone",
        ("{{supplement}}", "See {{supplement}}"),
        "{{supplement}} must stand on a line of its own",
    ),
    ("comment-unclosed", ("-->", ""), "comment '<!--' is never closed"),
]


@pytest.mark.parametrize("case, change, expect", TEMPLATE_CASES, ids=[c[0] for c in TEMPLATE_CASES])
def test_template_typo_is_one_line_naming_file_and_line(case, change, expect):
    text, line = edited(*change)
    with pytest.raises(TemplateError) as err:
        template.check_template(text, SRC)
    msg = str(err.value)
    assert "\n" not in msg
    assert expect in msg, msg
    where = {  # named where the problem shows, which is not always the edited line
        "supplement-twice": lambda: line_of(EN, "\n{{supplement}}") + 1,
        "requires-stray-close": lambda: (
            line_of(text[text.index("-->") :], "{{/requires}}") + line_of(text, "-->") - 1
        ),
        "requires-unclosed": lambda: line_of(text, "{{#requires layernorm_stats}}"),
        "comment-unclosed": lambda: 1,
    }
    line = where[case]() if case in where else line
    assert msg.startswith(f"{SRC}:{line}: "), msg


def test_the_templates_as_written_pass_and_a_disabled_table_is_still_a_note():
    from lnpaper.manuscript import fill

    for lang in ("vi", "en"):
        path = ROOT / f"manuscript/paper.{lang}.md"
        assert template.template_problems(path.read_text(encoding="utf-8"), str(path)) == []
    # the one case that prints a note: a table of an experiment switched off in the config
    off = {e: {"enabled": e != "affine"} for e in fill.registry.EXPERIMENTS}
    import pandas as pd

    build = fill.Build(off, "en", pd.DataFrame({"name": []}), {}, {}, {})
    out = fill.fill("{{table:affine_grid}}", build)
    assert (
        out == "> Table *affine_grid* is left out: experiment `affine` is disabled in the config."
    )


# ---- captions.yaml and text.yaml

CAPTIONS = (ROOT / "manuscript/captions.yaml").read_text(encoding="utf-8")
TEXT = (ROOT / "src/lnpaper/report/text.yaml").read_text(encoding="utf-8")

YAML_CASES = [
    (
        "captions-unknown-table",
        "captions",
        ("table:scale_behavior:", "table:scale_behaviour:"),
        "caption of unknown table 'scale_behaviour' (did you mean 'scale_behavior'?)",
    ),
    (
        "captions-bad-kind",
        "captions",
        ("table:scale_behavior:", "tabel:scale_behavior:"),
        "caption key 'tabel:scale_behavior' must be table:<name> or figure:<name>",
    ),
    (
        "captions-unknown-language",
        "captions",
        ("\n  en: ", "\n  eng: "),
        "unknown language 'eng' (did you mean 'en'?)",
    ),
    (
        "captions-not-yaml",
        "captions",
        ("table:scale_behavior:", "table:scale_behavior: ["),
        "not valid YAML",
    ),
    ("text-field-one-language", "text", ("en: 'Table *{name}*", "en: 'Table *{nme}*"), "field {n"),
    ("text-not-yaml", "text", ("manuscript_notes:", "manuscript_notes: ]"), "not valid YAML"),
]


@pytest.mark.parametrize("case, which, change, expect", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_manuscript_yaml_typo_is_one_line_naming_file_and_line(case, which, change, expect):
    base, check, src = (
        (CAPTIONS, template.check_captions, "manuscript/captions.yaml")
        if which == "captions"
        else (TEXT, template.check_text_file, "src/lnpaper/report/text.yaml")
    )
    assert change[0] in base, change
    line = line_of(base, change[0]) + change[0][: change[0].index(change[0].strip()[0])].count("\n")
    with pytest.raises(TemplateError) as err:
        check(base.replace(change[0], change[1], 1), src)
    msg = str(err.value)
    assert "\n" not in msg and expect in msg, msg
    # the line of the entry, or where the YAML parser noticed: at most a few lines on
    named = re.match(rf"{re.escape(src)}:(\d+): ", msg)
    assert named and line - 2 <= int(named.group(1)) <= line + 2, (msg, line)


# ---- the lnpaper command line


@pytest.fixture(scope="module")
def store_dir(tiny_build, tmp_path_factory):
    """A folder with the tiny build's results and MLflow store (a copy: nothing is written)."""
    work, _ = tiny_build
    dest = tmp_path_factory.mktemp("cli")
    shutil.copy2(work / "mlflow.db", dest / "mlflow.db")
    shutil.copytree(work / "results", dest / "results")
    return dest


CLI_CASES = [
    (
        "compare-unknown-ids",
        ["compare", "0" * 32, "1" * 32],
        f"no build '{'0' * 32}' in the store",
    ),
    # one name is compared with the latest build; a name no build starts with is refused
    ("compare-unknown-prefix", ["compare", "abc"], "no build 'abc' in the store"),
    (
        "compare-no-store",
        ["compare", "--tracking-uri", "sqlite:///missing.db"],
        "--tracking-uri sqlite:///missing.db: no MLflow store there",
    ),
    (
        "diff-missing-folders",
        ["diff", "./gone_a", "./gone_b"],
        "build_a ./gone_a: no such results folder",
    ),
    ("diff-not-results", ["diff", "results", "./empty"], "build_b ./empty: not a results folder"),
    (
        "diff-unknown-ids",
        ["diff", "f" * 32, "e" * 32],
        f"no build '{'f' * 32}' in the store",
    ),
    ("bad-flag", ["compare", "--colour"], "unrecognized arguments: --colour"),
    ("unknown-command", ["frobnicate"], "invalid choice: 'frobnicate'"),
    ("bench-bad-number", ["bench", "--repeats", "many"], "argument --repeats: invalid int value"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case, argv, expect", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_lnpaper_argument_is_one_line(store_dir, monkeypatch, capsys, case, argv, expect):
    monkeypatch.chdir(store_dir)
    (store_dir / "empty").mkdir(exist_ok=True)
    before = science_digest(store_dir)
    try:
        rc = cli.main(argv)
    except SystemExit as exit_:
        rc = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc not in (0, None), err
    assert len(lines) == 1 and expect in lines[0], err
    assert "Traceback" not in err
    assert science_digest(store_dir) == before


# ---- through Snakemake: --config, damaged files, a second build


def science_digest(work) -> dict[str, str]:
    """sha256 of every science result (experiment Parquet) under a build folder."""
    return {
        str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((work / "results/experiments").rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def built(tiny_build, tmp_path_factory):
    """A copy of the shared tiny build (modification times kept, so nothing is out of date)."""
    work, _ = tiny_build
    dest = tmp_path_factory.mktemp("badinputs") / "w"
    shutil.copytree(work, dest, symlinks=True)
    return dest


def damage(path, how):
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "last-line":  # a CSV cut at a line end: parses, one row short
        path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])
    else:
        path.write_bytes(b"not the file any more\n")


# (id, damaged file or None, how, extra snakemake arguments, the one line's start, text in it)
SNAKEMAKE_CASES = [
    (
        "parquet-truncated",
        "results/experiments/matmul/growth.parquet",
        "truncate",
        [],
        "input error: results/experiments/matmul/growth.parquet is damaged",
        "--forcerun matmul",
    ),
    (
        "parquet-overwritten",
        "results/data/matrices.parquet",
        "garbage",
        [],
        "input error: results/data/matrices.parquet is damaged",
        "no Parquet footer",
    ),
    (
        "csv-row-lost",
        "results/tables/claims.csv",
        "last-line",
        [],
        "input error: results/tables/claims.csv is damaged",
        "changed after its step wrote it",
    ),
    (
        "manifest-truncated",
        "results/manifests/affine.json",
        "truncate",
        [],
        "input error: results/manifests/affine.json is damaged",
        "not the JSON record",
    ),
    (
        "override-nested-negative",
        None,
        None,
        ["--config", "matmul={steps: -1}"],
        "config error: matmul.steps: got -1; allowed: integer >= 2",
        "",
    ),
    (
        "override-misspelt-key",
        None,
        None,
        ["--config", "matmul={stepz: 3}"],
        "config error: matmul: unknown key 'stepz' (did you mean 'steps'?)",
        "",
    ),
    (
        "override-not-yaml",
        None,
        None,
        ["--config", "matmul=[1, 2"],
        "config error: --config matmul=[1, 2: not a valid YAML value",
        "",
    ),
    (
        "template-typo",
        "manuscript/paper.vi.md",
        "typo",
        [],
        "manuscript error: manuscript/paper.vi.md:",
        "unknown number {{num:MatmulStep}}",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, target, how, args, start, text", SNAKEMAKE_CASES, ids=[c[0] for c in SNAKEMAKE_CASES]
)
def test_snakemake_names_the_bad_input_in_one_line(built, case, target, how, args, start, text):
    before = science_digest(built)
    saved = None
    if target:
        path = built / target
        saved = path.read_bytes()
        if how == "typo":
            path.write_text(saved.decode().replace("{{num:MatmulSteps}}", "{{num:MatmulStep}}", 1))
        else:
            damage(path, how)
        if target.startswith("results/experiments"):
            before = science_digest(built)  # the damaged file itself stays as it was left
    try:
        proc = snakemake(built, "--configfile", "tiny.yaml", *args, check=False, timeout=300)
        after = science_digest(built)
    finally:
        if saved is not None:  # the next case starts from the build as it was
            path.write_bytes(saved)
    check_one_line(proc, start, text)
    assert after == before


@pytest.mark.slow
def test_a_second_build_in_the_same_folder_is_refused_at_once(built):
    """A running build holds the folder's lock; another start says so in one line and leaves
    everything as it is. (The holder here is a process that takes the lock as a build does.)"""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from lnpaper.pipeline import inputs, paths; "
            "assert inputs.acquire_build_lock(paths.BUILD_LOCK) is None; print('held', flush=True); "
            "time.sleep(600)",
        ],
        cwd=built,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = science_digest(built)
        proc = snakemake(built, "--configfile", "tiny.yaml", check=False, timeout=300)
        check_one_line(proc, "build error: a build is already running in this folder (pid ", "")
        assert science_digest(built) == before
        # a dry run reads only: it is not refused
        assert snakemake(built, "--configfile", "tiny.yaml", "-n", check=False).returncode == 0
    finally:
        holder.kill()
        holder.wait()


def check_one_line(proc, start, text):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    ours = [
        line
        for line in proc.stderr.splitlines()
        if line.startswith(("input error", "config error", "build error", "manuscript error"))
    ]
    assert len(ours) == 1 and ours[0].startswith(start) and text in ours[0], out
    assert "Job stats" not in out and "localrule" not in out  # refused before any job


@pytest.mark.parametrize("suffix", ["parquet", "json"])
def test_a_job_reading_a_damaged_file_names_it(tmp_path, suffix):
    """The last line of defence, inside a job: the reader names the file it could not read."""
    import pandas as pd

    from lnpaper.pipeline import io

    path = tmp_path / f"x.{suffix}"
    if suffix == "parquet":
        io.write_parquet(pd.DataFrame({"a": [1.0, 2.0]}), path)
        path.write_bytes(path.read_bytes()[:-20])
        read = io.read_parquet
    else:
        path.write_text('{"a": [1, 2')
        read = io.read_json
    with pytest.raises(io.DamagedFileError) as err:
        read(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path} is damaged (not a readable ")
    assert msg.endswith("delete it and rerun snakemake to rebuild it")
