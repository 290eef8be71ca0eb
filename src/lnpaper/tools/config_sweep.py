"""Explore the space of valid configs: build a config's paper in process (experiments, tables,
figures, claims, numbers and the filled manuscript, as the Snakemake rules call them), or sweep
the edge cases and drawn configs through Snakemake (``make test-configs``).

The contract checked for every config: the validator refuses it in one line naming a key, or the
build runs with no exception and no warning, its prose holds no "–" placeholder, and no claim
gets ``holds`` / ``fails`` from a condition it did not measure.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lnpaper.pipeline import registry
from lnpaper.pipeline.config import ConfigError, load_yaml, validate

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = ROOT / "workflow/schemas/config.schema.yaml"
TINY_PATH = ROOT / "tests/configs/tiny.yaml"
PLACEHOLDER = "–"  # what formatting prints for a missing number (en dash)


@dataclass
class Built:
    """What an in-process build produced."""

    config: dict
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    claims: pd.DataFrame | None = None
    numbers: pd.DataFrame | None = None
    paper: str = ""


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


def run_experiments(config: dict) -> dict[str, pd.DataFrame]:
    """Every enabled experiment of a validated config: ``{"matmul/growth": df, ...}``."""
    import importlib

    from lnpaper.experiments import data

    seed = config["seed"]
    pipeline = {"matrices": data.run(config["data"], seed=seed)["matrices"]}
    frames: dict[str, pd.DataFrame] = {}
    for exp in registry.enabled_declarations(config):
        module = importlib.import_module(exp.module)
        cfg = config[exp.section]
        if exp.split:  # one part per unit, joined (as its rules run it)
            parts = [module.run(exp.split.slice(cfg, u), seed=seed) for u in exp.split.units(cfg)]
            out = getattr(importlib.import_module(exp.join_module), exp.split.join)(parts)
        else:
            inputs = {name: pipeline[name] for name in exp.reads}
            out = module.run(cfg, seed=seed, inputs=inputs, device="cpu")
        frames.update({f"{exp.id}/{name}": df for name, df in out.items()})
    return frames


def build_in_process(config: dict, figures: bool = True) -> Built:
    """Validate ``config`` (raises ConfigError) and build its paper as the rules do, in memory
    (figures are drawn and closed, not saved). Warnings are whatever the caller makes of them."""
    from lnpaper.report import claims, numbers, tables
    from lnpaper.report.step_config import StepConfig

    cfg = validate(config, load_yaml(SCHEMA_PATH))
    out = Built(config=cfg, frames=run_experiments(cfg))
    for name in registry.enabled_tables(cfg):
        if name == "claims":
            continue
        sources = registry.TABLES[name]
        tcfg = StepConfig.for_sources(cfg, sources)  # what rule table gets (common.smk)
        out.tables[name] = tables.build(name, {s: out.frames[s] for s in sources}, tcfg)
    if figures:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from lnpaper.report import figures as figs

        for name in registry.enabled_figures(cfg):
            sources = registry.FIGURES[name]
            fig = figs.draw(
                name, {s: out.frames[s] for s in sources}, StepConfig.for_sources(cfg, sources)
            )
            plt.close(fig)
    csrc = registry.claims_sources(cfg)
    if csrc:
        out.claims = claims.evaluate_all(
            {s: out.frames[s] for s in csrc}, StepConfig.for_sources(cfg, csrc)
        )
        out.tables["claims"] = out.claims
    wanted = numbers.in_build(cfg)
    sources = {}
    for n in wanted:
        if n.kind == "table":
            sources[n.source] = out.tables[n.ref]
        elif n.kind == "experiment":
            sources[n.source] = out.frames[n.ref]
    out.numbers = numbers.compute(sources, numbers.config_slice(cfg), [n.name for n in wanted])
    out.paper = _paper(out, cfg)
    return out


def _paper(out: Built, cfg: dict) -> str:
    """The filled manuscript of an in-memory build (no provenance: blank traces)."""
    from lnpaper.manuscript.fill import Build, fill
    from lnpaper.report import formatting
    from lnpaper.report.tables import claims_summary

    language = cfg["language"]
    md = {name: formatting.to_markdown(df, language) for name, df in out.tables.items()}
    if out.claims is not None:
        md["claims_main"] = formatting.to_markdown(claims_summary(out.claims, language), language)
    steps = {"numbers", "data", *registry.enabled_experiments(cfg)}
    steps |= {f"table_{t}" for t in out.tables} | {f"figure_{f}" for f in registry.FIGURES}
    blank = {"rule": "", "config_hash": "", "git_commit": "", "mlflow_run_id": ""}
    build = Build(
        config=cfg,
        language=language,
        numbers=out.numbers,
        tables=md,
        captions=load_yaml(ROOT / "manuscript/captions.yaml") or {},
        traces={s: dict(blank, rule=s) for s in steps},
        claims=(
            dict(zip(out.claims["claim_id"], out.claims["verdict"]))
            if out.claims is not None
            else None
        ),
    )
    return fill((ROOT / f"manuscript/paper.{language}.md").read_text("utf-8"), build)


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


def placeholders(built: Built) -> list[str]:
    """Prose lines that quote a number this build did not measure (printed as "–")."""
    return [
        " ".join(ln.split())[:120] for ln in prose(built.paper).splitlines() if PLACEHOLDER in ln
    ]


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
    found = problems(built)
    if found:
        raise AssertionError("; ".join(found))
    return f"built ({len(placeholders(built))} prose line(s) quote an unmeasured number)"


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


def _snakemake(work: Path, config_file: Path, *extra: str, timeout: int) -> tuple[int, str]:
    exe = str(Path(sys.executable).with_name("snakemake"))
    proc = subprocess.run(
        [exe, "--configfile", str(config_file), "--cores", "2", *extra],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _log_warnings(work: Path, since: float = 0.0) -> list[str]:
    """RuntimeWarning lines in the step logs written after ``since`` (numpy / pandas numerics)."""
    out = []
    for log in sorted((work / "results").rglob("*.log")):
        if log.stat().st_mtime < since:
            continue  # a step an earlier case ran and this one reused
        for line in log.read_text(errors="replace").splitlines():
            if "RuntimeWarning" in line:
                out.append(f"{log.name}: {line.strip()[:160]}")
    return out


def sweep(cases: dict[str, dict], budget_s: float, keep: Path | None = None) -> list[str]:
    """Each case through Snakemake in one shared copy of the workflow: a refused config must
    stop at parse time with one ``config error:`` line (a dry run: seconds); an accepted one must
    build with no RuntimeWarning in its logs. Accepted cases share one results folder, so each
    reruns only the experiments its change touches and what is built from them (the cases are
    variations of one config). Returns the failures (empty: all good)."""
    failures = []
    start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="lnpaper-sweep-")) if keep is None else keep
    work = _copy_workflow(base / "work")
    import yaml

    for name, config in cases.items():
        left = budget_s - (time.monotonic() - start)
        if left < 30:
            failures.append(f"{name}: not run, the sweep's {budget_s:.0f} s budget is spent")
            continue
        path = base / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=True))
        t0 = time.monotonic()
        try:
            validate(config, load_yaml(SCHEMA_PATH))
            accepted = True
        except ConfigError:
            accepted = False
        if accepted:
            variant_cfg = {**config, "mlflow": {"enabled": False}}
            path.write_text(yaml.safe_dump(variant_cfg, sort_keys=True))
            since = time.time() - 1
            rc, log = _snakemake(work, path, timeout=int(left))
            bad = _log_warnings(work, since)
            if rc != 0:
                tail = " | ".join(log.strip().splitlines()[-3:])
                failures.append(f"{name}: build failed ({rc}): {tail[:300]}")
            elif bad:
                failures.append(f"{name}: {len(bad)} RuntimeWarning(s), first {bad[0]}")
            outcome = "built" if rc == 0 and not bad else "FAILED"
        else:
            rc, log = _snakemake(work, path, "--dry-run", timeout=int(left))
            lines = [ln for ln in log.splitlines() if ln.startswith("config error:")]
            if rc == 0 or len(lines) != 1 or "Traceback" in log:
                failures.append(f"{name}: refusal is not one 'config error:' line: {log[-300:]}")
                outcome = "FAILED"
            else:
                outcome = "refused: " + lines[0][len("config error: ") :]
        print(f"{name:32s} {time.monotonic() - t0:6.1f} s  {outcome}", flush=True)
    if keep is None:
        shutil.rmtree(base, ignore_errors=True)
    return failures


def drawn_configs(count: int, seed: int = 0) -> dict[str, dict]:
    """``count`` configs drawn from the schema restricted to tiny sizes (tests/strategies)."""
    import hypothesis
    from hypothesis import HealthCheck, given, settings

    from lnpaper.tools.config_space import tiny_configs

    found: list[dict] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @given(tiny_configs())
    def collect(cfg):
        found.append(cfg)

    collect()
    return {f"drawn-{i:02d}": cfg for i, cfg in enumerate(found[:count])}


def _order(config: dict, name: str) -> tuple[int, str]:
    """Refusals first (seconds each), then the tiny config (the build the others vary), then the
    rest by name."""
    try:
        validate(config, load_yaml(SCHEMA_PATH))
    except ConfigError:
        return (0, name)
    return (1 if name == "tiny" else 2, name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drawn", type=int, default=3, help="drawn configs built after the cases")
    ap.add_argument("--budget", type=float, default=900, help="seconds for the whole sweep")
    ap.add_argument("--only", nargs="*", help="run only these named cases")
    args = ap.parse_args(argv)
    cases = edge_cases()
    if args.only:
        cases = {k: v for k, v in cases.items() if k in args.only}
    else:
        cases.update(drawn_configs(args.drawn))
    cases = dict(sorted(cases.items(), key=lambda kv: _order(kv[1], kv[0])))
    t0 = time.monotonic()
    failures = sweep(cases, args.budget)
    print(f"{len(cases)} configs in {time.monotonic() - t0:.0f} s, {len(failures)} failure(s)")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
