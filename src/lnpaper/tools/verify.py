"""``lnpaper verify PATH``: rebuild a paper from its bundle in a fresh folder and certify it.

PATH is a ``bundle.zip`` or a results folder (its ``manuscript/bundle.zip``). The bundle is
refused in one line (exit 2) when it cannot be rebuilt: no source, or built from a tree with
uncommitted changes. Its own digests are checked first: an edited number, table cell, Parquet
value or verdict is named and the bundle fails (exit 1) without a rebuild. Otherwise the source
(``git archive`` of the commit) is unpacked into ``DIR/rebuild``, set up as a user sets it up
(``make setup``: a fresh .venv from the bundled lock file; ``--reuse-venv`` uses the Python that
runs this command instead) and built with the bundle's config (tracking off: nothing is sent
anywhere); Snakemake's progress is shown as it goes. ``verify_compare`` then compares and writes
``DIR/certificate.json`` and ``DIR/certificate.html``. Exit 0 when everything agrees.
``--kernels`` and ``--seeds`` (``verify_seeds``: replicate seeds) rebuild under other kernel paths
or seeds and report which claims are fragile.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from lnpaper.manuscript.reproduce import LAYOUT, machine_record, same_kernels
from lnpaper.pipeline import io, paths
from lnpaper.tools import verify_compare as cmp
from lnpaper.tools.verify_bundle import Bundle, Refused, integrity_problems, open_bundle

PASS, DISAGREE, REFUSED = 0, 1, 2
CONFIG_FILE = "verify-config.yaml"  # the config the rebuild runs with, in DIR/rebuild
PROGRESS = re.compile(r"\d+ of \d+ steps|Error in rule|Exiting because")


def add_arguments(parser) -> None:
    parser.add_argument("path", help="a bundle.zip, or a results folder of a checkout")
    parser.add_argument(
        "--config",
        help="rebuild with this config instead (a smaller one checks the pipeline end to end "
        "in minutes; the certificate then says it checked the pipeline, not the paper's numbers)",
    )
    parser.add_argument(
        "--out", help="where the certificate goes (default: verification/ beside PATH)"
    )
    parser.add_argument(
        "--reuse-venv",
        action="store_true",
        help="rebuild with the Python environment running this command instead of a fresh "
        "`make setup` from the bundle's lock file",
    )
    parser.add_argument(
        "--kernels",
        action="store_true",
        help="rebuild under each CPU kernel path of this CPU (torch, MKL, OpenBLAS) and report "
        "which claims and numbers depend on them (stable or fragile)",
    )
    parser.add_argument(
        "--seeds",
        help="replication mode: rebuild with these replicate seeds (e.g. 43,44, config "
        "replicate_seeds) and list per claim whether its verdict replicates; it reports, it "
        "does not fail on a fragile claim (docs/verify.md)",
    )
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.set_defaults(func=run)


def say(text: str) -> None:
    print(f"lnpaper verify: {text}", file=sys.stderr, flush=True)


def unpack(bundle: Bundle, work: Path, config_file: Path | None) -> Path:
    """The bundle's source in a fresh ``work`` folder and the config the rebuild runs with."""
    import shutil

    from lnpaper.pipeline.config import load_yaml
    from lnpaper.pipeline.yamlfile import safe_load

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    archive = work.parent / "source.tar.gz"
    archive.write_bytes(bundle.files[LAYOUT["source"]])
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    if LAYOUT["lock"] in bundle.files and not (work / "requirements.lock").exists():
        (work / "requirements.lock").write_bytes(bundle.files[LAYOUT["lock"]])
    if config_file is None:
        config = safe_load(bundle.files[LAYOUT["config"]].decode())
    else:
        config = load_yaml(Path(config_file))
    config = dict(config or {})
    config["mlflow"] = {**(config.get("mlflow") or {}), "enabled": False}
    _write_yaml(config, work / CONFIG_FILE)
    return work


def _write_yaml(obj: dict, path: Path) -> None:
    import yaml

    path.write_text(yaml.safe_dump(obj, sort_keys=True), encoding="utf-8")


def _stream(cmd: list[str], cwd: Path, env: dict, log: Path) -> int:
    """Run ``cmd``, its output into ``log``, its progress lines to stderr as they come."""
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in proc.stdout:
            fh.write(line)
            if PROGRESS.search(line):
                say(f"rebuild: {line.strip()}")
        return proc.wait()


def rebuild(work: Path, reuse_venv: bool, cores: int, extra_env: dict | None = None) -> Path:
    """Build the paper in ``work`` as a user would (``extra_env``: kernel variables); its
    results folder."""
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": str(work / "src")}
    env.pop("VIRTUAL_ENV", None)
    if reuse_venv:
        snakemake = str(Path(sys.executable).with_name("snakemake"))
    else:
        say("setting up a fresh environment from the bundle's lock file (make setup)")
        if _stream(["make", "setup"], work, env, work.parent / "setup.log") != 0:
            raise RuntimeError(f"make setup failed; see {work.parent / 'setup.log'}")
        snakemake = str(work / ".venv/bin/snakemake")
    cmd = [snakemake, "--configfile", CONFIG_FILE, "--cores", str(cores)]
    say(f"rebuilding in {work} ({' '.join(cmd[1:])})")
    if _stream(cmd, work, env, work.parent / "rebuild.log") != 0:
        raise RuntimeError(f"the rebuild failed; see {work.parent / 'rebuild.log'}")
    return work / paths.RESULTS


def certify(bundle: Bundle, results: Path | None, scope: str, integrity: list[str]) -> dict:
    """The certificate of ``bundle`` against the rebuild in ``results`` (None: not rebuilt)."""
    import pandas as pd

    theirs = bundle.json("machine") if LAYOUT["machine"] in bundle.files else {}
    ours = machine_record()
    exact = same_kernels(theirs, ours)
    cert = {
        "scope": scope,
        "commit": bundle.json("commit").get("commit", "unknown"),
        "machines": {"bundle": theirs, "rebuild": ours},
        "same_kernels": exact,
        "rule": cmp.RULES[
            "pipeline" if scope == "pipeline" else ("same_machine" if exact else "other_machine")
        ],
        "integrity": integrity,
        "science": [],
        "numbers": [],
        "claims": [],
    }
    if results is not None and scope == "paper":
        rebuilt = io.read_parquet(results / "manuscript" / "numbers.parquet")
        claims = results / "tables" / "claims.csv"
        cert["science"] = cmp.compare_science(bundle.science(), results, exact)
        cert["numbers"] = cmp.compare_numbers(bundle.numbers(), rebuilt, exact)
        cert["claims"] = cmp.compare_claims(
            bundle.claims(), pd.read_csv(claims) if claims.exists() else None
        )
    elif results is not None:  # pipeline: every output of the other config was built
        for name in ("manuscript/numbers.parquet", "manuscript/bundle.zip"):
            if not (results / name).is_file():
                cert["integrity"].append(f"{name}: not built by the pipeline check")
    cert["disagreements"] = cmp.disagreements(cert)
    cert["verdict"] = "fail" if cert["disagreements"] else "pass"
    s = cert
    cert["summary"] = (
        f"{len(s['disagreements'])} disagreements; "
        f"{sum(r['identical'] for r in s['science'])}/{len(s['science'])} science files identical, "
        f"{sum(r['agrees'] for r in s['numbers'])}/{len(s['numbers'])} numbers agree, "
        f"{sum(r['agrees'] for r in s['claims'])}/{len(s['claims'])} verdicts the same"
    )
    return cert


def run(args) -> int:
    t0 = time.perf_counter()
    path = Path(args.path)
    try:
        bundle = open_bundle(path)
    except Refused as err:
        print(f"lnpaper verify: refused: {err}", file=sys.stderr)
        return REFUSED
    out = Path(args.out) if args.out else path.resolve().parent / "verification"
    scope = "pipeline" if args.config else "paper"
    integrity = integrity_problems(bundle)
    results = None
    if args.kernels and not integrity:
        return run_kernels(args, bundle, out, t0)
    if args.seeds and not integrity:
        return run_seeds(args, bundle, out, t0)
    if not integrity:
        say(
            f"bundle {bundle.path} intact; rebuilding commit {bundle.json('commit')['commit'][:12]}"
        )
        work = unpack(bundle, out / "rebuild", args.config)
        try:
            results = rebuild(work, args.reuse_venv, args.cores)
        except RuntimeError as err:
            integrity = [f"rebuild: {err}"]
    cert = certify(bundle, results, scope, integrity)
    cert["wall_s"] = round(time.perf_counter() - t0, 1)
    j, h = cmp.write_certificate(cert, out)
    for line in cert["disagreements"]:
        print(line, file=sys.stderr)
    print(f"{cert['verdict'].upper()} ({scope}): {cert['summary']} -> {h}")
    return PASS if cert["verdict"] == "pass" else DISAGREE


def run_kernels(args, bundle: Bundle, out: Path, t0: float) -> int:
    """``--kernels``: the paper under each kernel path of this CPU; which claims and numbers
    depend on the path (0: report written; 1: a rebuild failed)."""
    import pandas as pd

    from lnpaper.tools import verify_kernels as vk

    ours = machine_record()
    builds: dict = {}
    native = vk.native_path(ours["torch_cpu_capability"])
    theirs = bundle.json("machine") if LAYOUT["machine"] in bundle.files else {}
    if same_kernels(theirs, ours) and args.config is None:
        builds[native] = (bundle.claims(), bundle.numbers())  # the bundle is that path's build
    problems = []
    for path in vk.kernel_paths():
        if path in builds:
            continue
        say(f"kernel path {path}: {vk.PATHS[path]}")
        work = unpack(bundle, out / f"rebuild-{path}", args.config)
        try:
            results = rebuild(work, args.reuse_venv, args.cores, vk.PATHS[path])
        except RuntimeError as err:
            problems.append(f"rebuild under {path}: {err}")
            continue
        claims = results / "tables" / "claims.csv"
        numbers = io.read_parquet(results / "manuscript" / "numbers.parquet")
        builds[path] = (pd.read_csv(claims) if claims.exists() else None, vk.numbers_of(numbers))
    order = [p for p in vk.kernel_paths() if p in builds]
    cert = certify(bundle, None, "kernels", problems)
    cert["kernels"] = vk.sensitivity({p: builds[p] for p in order}) if order else {}
    found = vk.lines(cert["kernels"]) if order else []
    cert["summary"] = (
        f"kernel paths {', '.join(order)}: {len(cert['kernels'].get('fragile_claims', []))} of "
        f"{len(cert['kernels'].get('claims', []))} claims fragile, "
        f"{sum(n['change'] == 'significant' for n in cert['kernels'].get('numbers', []))} numbers "
        "beyond noise"
        if order
        else "no kernel path was built"
    )
    cert["wall_s"] = round(time.perf_counter() - t0, 1)
    _, h = cmp.write_certificate(cert, out)
    for line in [*problems, *found]:
        print(line, file=sys.stderr)
    print(f"{'FAIL' if problems else 'REPORT'} (kernels): {cert['summary']} -> {h}")
    return DISAGREE if problems else PASS


def run_seeds(args, bundle: Bundle, out: Path, t0: float) -> int:
    """``--seeds``: rebuild with the replicate seeds and write the replication certificate
    (exit status: ``verify_seeds``; 0 report written, 1 rebuild failed, 2 refused)."""
    import pandas as pd

    from lnpaper.pipeline.yamlfile import safe_load
    from lnpaper.tools import verify_seeds as vs

    work = unpack(bundle, out / "rebuild-seeds", args.config)
    config_file = work / CONFIG_FILE
    config = safe_load(config_file.read_text(encoding="utf-8")) or {}
    base = int(config.get("seed", 42))
    try:
        seeds = vs.parse_seeds(args.seeds, base)
    except vs.BadSeeds as err:
        print(f"lnpaper verify: refused: {err}", file=sys.stderr)
        return REFUSED
    _write_yaml({**config, "replicate_seeds": seeds}, config_file)
    problems, report = [], None
    try:
        results = rebuild(work, args.reuse_venv, args.cores)
        report = vs.seeds_report(pd.read_csv(results / "tables" / "claims.csv"))
    except (RuntimeError, ValueError, OSError) as err:
        problems.append(f"rebuild with replicate seeds {seeds}: {err}")
    cert = certify(bundle, None, "seeds", problems)
    cert["rule"] = cmp.RULES["seeds"]
    if report is not None:
        cert["seeds"] = report
        cert["summary"] = f"seeds {base} + {seeds}: {vs.summary(report)}"
    cert["wall_s"] = round(time.perf_counter() - t0, 1)
    _, h = cmp.write_certificate(cert, out)
    for line in [*problems, *(vs.lines(report) if report else [])]:
        print(line, file=sys.stderr)
    print(f"{'FAIL' if problems else 'REPORT'} (seeds): {cert['summary']} -> {h}")
    return DISAGREE if problems else PASS
