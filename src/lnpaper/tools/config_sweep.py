"""Explore the space of valid configs: check a config's paper built in process
(lnpaper.tools.config_build), or sweep the edge cases and drawn configs through Snakemake
(``make test-configs``).

The contract checked for every config: the validator refuses it in one line naming a key, or the
build runs with no exception and no warning, and no claim gets ``holds`` / ``fails`` from a
condition it did not measure. The numbers its prose quotes as "–" (unmeasured under the config)
are listed, not yet a failure (docs/config-space.md).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from lnpaper.pipeline import paths, registry
from lnpaper.pipeline.config import ConfigError, load_yaml, validate
from lnpaper.tools.config_build import ROOT, SCHEMA_PATH, Built, build_in_process

TINY_PATH = ROOT / "tests/configs/tiny.yaml"
PLACEHOLDER = "–"  # what formatting prints for a missing number (en dash)


def tiny_config() -> dict:
    return load_yaml(TINY_PATH)


def variant(base: dict, **changes) -> dict:
    """``base`` with dotted keys replaced: variant(tiny, **{"matmul.scales": [1.0]})."""
    cfg = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = cfg
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return cfg


# ---------------------------------------------------------------- what a build must satisfy


def prose(paper: str) -> str:
    """The running text of a filled paper: no table rows, no captions, no figure lines."""
    keep = []
    for line in paper.splitlines():
        s = line.strip()
        if s.startswith(("|", ":", "!", "<", "#")) or set(s) <= set("-|: "):
            continue
        keep.append(line)
    return "\n".join(keep)


# a dash that stands for a missing value: not one between two digits (a range, 0.2–0.5, or a
# reference's pages, 371–386)
MISSING = re.compile(rf"(?<!\d){PLACEHOLDER}|{PLACEHOLDER}(?!\d)")


def placeholders(paper: str) -> list[str]:
    """The names of the numbers a filled paper's prose quotes as "–" (a value this build did
    not measure)."""
    from lnpaper.manuscript.diff import NUMBER, printed

    out = []
    for m in NUMBER.finditer(prose(paper)):
        if MISSING.search(printed(m)):
            out.append(m.group("name"))
    return out


def problems(built: Built) -> list[str]:
    """What is wrong with a finished build: a firm verdict (holds / fails / holds_only_if)
    whose measured text holds a missing or NaN number, or a verdict no claim rule declares."""
    out = []
    if built.claims is not None:
        firm = built.claims[built.claims["verdict"].isin(["holds", "fails", "holds_only_if"])]
        for row in firm.itertuples():
            text = str(row.measured)
            if PLACEHOLDER in text or "nan" in text.lower().split():
                out.append(f"claim {row.claim_id} is {row.verdict} on missing data: {text}")
    return out


def check_config(config: dict) -> str:
    """'refused: <line>' or 'built' for one config; raises on any other outcome (an exception,
    a warning turned error, or a problem of the finished build)."""
    try:
        validate(config, load_yaml(SCHEMA_PATH))
    except ConfigError as err:
        line = str(err)
        if "\n" in line or ":" not in line:
            raise AssertionError(f"refusal is not one line naming a key: {line!r}") from None
        return f"refused: {line}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = build_in_process(config)
    found = problems(built) + _dashes(placeholders(built.paper))
    if found:
        raise AssertionError("; ".join(found))
    return "built"


# ---------------------------------------------------------------- the named edge cases


def edge_cases() -> dict[str, dict]:
    """The variations of the tiny config a researcher exploring the pipeline tries first (each
    within the schema's types), by name. Some are refused, the rest must build."""
    t = tiny_config()
    cases = {"tiny": t, "english": variant(t, language="en")}
    for exp in registry.DECLARATIONS.values():  # each experiment's own, from its declaration
        cases.update({name: variant(t, **changes) for name, changes in exp.edge_cases.items()})
    return cases


# ---------------------------------------------------------------- through Snakemake


def _copy_workflow(dest: Path) -> Path:
    from lnpaper.tools.benchmark import copy_workflow

    dest.mkdir(parents=True, exist_ok=True)
    copy_workflow(dest, ROOT)
    if (ROOT / "profiles").is_symlink() and not (dest / "profiles").exists():
        (dest / "profiles").symlink_to(os.readlink(ROOT / "profiles"))
    return dest


def _snakemake(work: Path, config_file: Path, *extra: str, timeout: float) -> tuple[int, str]:
    """Snakemake on ``work``; every RuntimeWarning (numpy / pandas numerics) in it or its jobs
    is an error there, so a silent division by zero fails the build with its traceback."""
    exe = str(Path(sys.executable).with_name("snakemake"))
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
    try:
        proc = subprocess.run(
            [exe, "--configfile", str(config_file), "--cores", "2", *extra],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return 124, f"stopped after {timeout:.0f} s"
    return proc.returncode, proc.stdout + proc.stderr


def _log_warnings(work: Path, since: float = 0.0) -> list[str]:
    """RuntimeWarning lines in the step logs written after ``since`` (numpy / pandas numerics)."""
    out = []
    for log in sorted((work / "results").rglob("*.log")):
        if log.stat().st_mtime < since:
            continue  # a step of the base build this case reused
        for line in log.read_text(errors="replace").splitlines():
            if "RuntimeWarning" in line:
                out.append(f"{log.name}: {line.strip()[:160]}")
    return out


def _cpu_s() -> float:
    """CPU seconds of this process and of every process it waited for: Snakemake, and the jobs
    Snakemake waited for. Unlike the wall time, it hardly depends on the machine's load."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def refusal_problem(config: dict) -> str | None:
    """None when the validator refuses ``config`` in one line that starts with the key (what the
    Snakefile prints as ``config error: <line>`` before any job), else what is wrong."""
    try:
        validate(config, load_yaml(SCHEMA_PATH))
    except ConfigError as err:
        line = str(err)
        if "\n" in line or not re.match(r"[\w.\[\]]+: ", line):
            return f"refusal is not one line naming a key: {line!r}"
        return None
    return "accepted"


def _build(work: Path, path: Path, timeout: float) -> str | None:
    """Build ``work`` with the config at ``path``; None if it built with no RuntimeWarning and
    no firm verdict on missing data, else why not."""
    since = time.time() - 1
    rc, log = _snakemake(work, path, timeout=timeout)
    if rc != 0:
        warned = [ln for ln in log.splitlines() if "RuntimeWarning" in ln]
        tail = warned[:1] or log.strip().splitlines()[-3:]
        return f"build failed ({rc}): {' | '.join(tail)[:300]}"
    bad = _log_warnings(work, since)
    if bad:
        return f"{len(bad)} RuntimeWarning(s), first {bad[0]}"
    claims_csv = work / paths.table_file("claims", "csv")
    if claims_csv.exists():
        found = problems(Built(config={}, claims=pd.read_csv(claims_csv)))
        if found:
            return "; ".join(found)[:300]
    return None


def _dashes(names: list[str]) -> list[str]:
    """A number quoted in prose as "–" is a defect: the fill step stops on a number it cannot
    compute unless its sentence has a variant for that case."""
    return [f"prose quotes {len(names)} number(s) as '–': {', '.join(names)}"] if names else []


def _quoted_missing(work: Path) -> str | None:
    """Why a finished build's prose fails: a number it quotes as "–" (None: none)."""
    paper = work / paths.manuscript_file("paper.md")
    names = placeholders(paper.read_text("utf-8")) if paper.exists() else []
    return "; ".join(_dashes(names)) or None


def _clock() -> tuple[float, float]:
    return time.monotonic(), _cpu_s()


def _report(name: str, since: tuple[float, float], outcome: str) -> None:
    """One progress line: the case, its wall and CPU seconds, what came of it."""
    wall, cpu = time.monotonic() - since[0], _cpu_s() - since[1]
    print(f"{name:34s} {wall:6.1f} s {cpu:6.1f} CPU-s  {outcome}", flush=True)


def _write(root: Path, name: str, config: dict) -> Path:
    import yaml

    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**config, "mlflow": {"enabled": False}}, sort_keys=True))
    return path


def _refusals(refused: dict[str, dict], root: Path, work: Path) -> list[str]:
    """Each refusal's line, in process (what the Snakefile calls at parse time: milliseconds
    instead of a Snakemake start each); the first one also as a Snakemake dry run, which must
    stop before any job with exactly one ``config error:`` line."""
    failures = []
    for name, config in refused.items():
        since = _clock()
        problem = refusal_problem(config)
        if problem:
            failures.append(f"{name}: {problem}")
        _report(name, since, problem or "refused in process")
    if refused:
        name, since = next(iter(refused)), _clock()
        rc, log = _snakemake(work, _write(root, name, refused[name]), "--dry-run", timeout=300)
        lines = [ln for ln in log.splitlines() if ln.startswith("config error:")]
        ok = rc != 0 and len(lines) == 1 and "Traceback" not in log
        if not ok:
            failures.append(f"{name}: Snakemake's refusal is not one 'config error:' line")
        _report(f"{name} (Snakemake)", since, lines[0] if ok else log[-300:])
    return failures


def sweep(cases: dict[str, dict], budget_cpu_s: float, keep: Path | None = None) -> list[str]:
    """The cases through Snakemake; returns the failures (empty: all good).

    Refused cases: ``_refusals``. Accepted cases: the tiny config is built once (the base);
    each case then builds in a copy of the base's folder (results and Snakemake's records), so
    it reruns only the jobs its change touches, and must end with no RuntimeWarning (an error in
    every job) and no firm verdict on missing data. ``budget_cpu_s`` caps the CPU seconds of the
    whole sweep: a case that would start past it is not run and is a failure."""
    root = Path(tempfile.mkdtemp(prefix="lnpaper-sweep-")) if keep is None else keep
    work = _copy_workflow(root / "base")
    start = _clock()
    refused = {n: c for n, c in cases.items() if refusal_problem(c) != "accepted"}
    accepted = {n: c for n, c in cases.items() if n not in refused and n != "tiny"}
    failures = _refusals(refused, root, work)
    since, timeout = _clock(), max(60, budget_cpu_s)
    problem = _build(work, _write(root, "base", tiny_config()), timeout) or _quoted_missing(work)
    if problem:
        failures.append(f"tiny (the base every case starts from): {problem}")
        accepted = {}  # no base to start from
    _report("tiny (base)", since, problem or "built")
    for name, config in accepted.items():
        if _cpu_s() - start[1] > budget_cpu_s:
            failures.append(f"{name}: not run, the sweep's {budget_cpu_s:.0f} CPU-s are spent")
            continue
        since, case = _clock(), root / name
        shutil.copytree(work, case, symlinks=True)  # copy2: mtimes kept, nothing reruns
        found = _build(case, _write(root, name, config), timeout) or _quoted_missing(case)
        if found:
            failures.append(f"{name}: {found}")
        _report(name, since, found or "built")
        if keep is None:
            shutil.rmtree(case, ignore_errors=True)
    wall, cpu = time.monotonic() - start[0], _cpu_s() - start[1]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"sweep: {len(cases)} configs ({len(refused)} refused) in {wall:.0f} s wall, "
        f"{cpu:.0f} CPU-s (budget {budget_cpu_s:.0f} CPU-s); load {load}",
        flush=True,
    )
    if cpu > budget_cpu_s:
        failures.append(f"the sweep took {cpu:.0f} CPU-s, over its {budget_cpu_s:.0f}")
    if keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return failures


def drawn_configs(count: int) -> dict[str, dict]:
    """``count`` configs, each the tiny config with one experiment's section drawn from the
    schema restricted to tiny sizes (``config_space.one_section_configs``): a build of one
    reruns only that experiment and what it feeds (a drawn seed or data section would rerun
    everything). One per section in turn, none equal to the tiny config or to another once
    validated. Derandomized: the same configs on every run."""
    import hypothesis
    from hypothesis import HealthCheck, given, settings

    from lnpaper.tools.config_space import one_section_configs

    base = tiny_config()
    schema = load_yaml(SCHEMA_PATH)

    def canonical(cfg: dict):
        try:
            return validate(cfg, schema)
        except ConfigError as err:
            return str(err)

    seen = [canonical(base)]
    by_section: dict[str, list[dict]] = {}

    @settings(
        max_examples=10 * count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @given(one_section_configs(base, registry.EXPERIMENTS))
    def collect(cfg):
        key = canonical(cfg)
        if key not in seen:
            seen.append(key)
            section = next(s for s in registry.EXPERIMENTS if cfg.get(s) != base.get(s))
            by_section.setdefault(section, []).append(cfg)

    collect()
    found: list[dict] = []
    while len(found) < count and any(by_section.values()):
        for drawn in by_section.values():
            if drawn and len(found) < count:
                found.append(drawn.pop(0))
    return {f"drawn-{i:02d}": cfg for i, cfg in enumerate(found)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drawn", type=int, default=4, help="drawn configs built after the cases")
    ap.add_argument(
        "--budget", type=float, default=900, help="CPU seconds for the whole sweep (all jobs)"
    )
    ap.add_argument("--only", nargs="*", help="run only these cases, edge or drawn (and the base)")
    ap.add_argument("--keep", type=Path, help="keep the workflow copies and configs here")
    args = ap.parse_args(argv)
    cases = {**edge_cases(), **drawn_configs(args.drawn)}
    if args.only:
        cases = {k: v for k, v in cases.items() if k in args.only}
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    failures = sweep(cases, args.budget, args.keep)
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
