"""``lnpaper verify PATH --seeds 43,44``: the replication mode of the certificate.

The bundle's source is rebuilt with its config plus ``replicate_seeds`` (the seeds given): the
data and every experiment run again at each seed, the claims audit is evaluated at each with
the same rules, and the claims table compares them (``lnpaper.report.replication``). The
certificate lists, per claim, its verdict at each seed and whether it replicates (the base
seed's verdict at every seed) or is fragile.

Exit status: replication mode *reports*; it is not a tamper check (a plain ``lnpaper verify``
is). 0 when the report was written, whatever the claims do (a fragile claim is a finding about
the paper, not a failure of the bundle); 1 when the bundle's digests disagree or the rebuild
failed; 2 when refused (a bad ``--seeds`` list, or the base seed among them).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from lnpaper.report import replication


class BadSeeds(ValueError):
    """A ``--seeds`` value that names no usable list of replicate seeds."""


def parse_seeds(text: str, base_seed: int | None = None) -> list[int]:
    """'43,44' -> [43, 44]: distinct integers >= 0, none the base seed; ``BadSeeds`` (one line,
    the allowed form) otherwise."""
    allowed = "allowed: distinct integers >= 0 separated by commas, e.g. --seeds 43,44"
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise BadSeeds(f"--seeds: got {text!r}; {allowed}")
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise BadSeeds(f"--seeds: got {text!r}, a seed twice; {allowed}")
    if base_seed is not None and base_seed in seeds:
        raise BadSeeds(
            f"--seeds: got {base_seed}, the bundle's base seed; {allowed}, other than {base_seed}"
        )
    return seeds


def seeds_report(claims: pd.DataFrame) -> dict:
    """Per claim its verdict at each seed and whether it replicates, from a claims table built
    with replicate seeds; the fragile claims and the count that replicate."""
    if not replication.replicated(claims):
        raise ValueError("the rebuilt claims table has no replicate seeds' columns")
    rows = [
        {
            "claim_id": str(r.claim_id),
            "claim": str(r.claim),
            "verdict": str(r.verdict),
            "verdict_by_seed": str(r.verdict_by_seed),
            "value_by_seed": str(r.value_by_seed),
            "seeds_agree": int(r.seeds_agree),
            "seeds": int(r.seeds),
            "replicates": int(r.seeds_agree) == int(r.seeds),
        }
        for r in claims.itertuples()
    ]
    return {
        "seeds": int(replication.seed_count(claims)) if len(claims) else 1,
        "claims": rows,
        "replicated": sum(r["replicates"] for r in rows),
        "fragile_claims": [r["claim_id"] for r in rows if not r["replicates"]],
    }


def lines(report: dict) -> list[str]:
    """One line per fragile claim: its verdict at each seed."""
    return [
        f"claim {r['claim_id']}: fragile, {r['seeds_agree']} of {r['seeds']} seeds "
        f"({r['verdict_by_seed']})"
        for r in report["claims"]
        if not r["replicates"]
    ]


def summary(report: dict) -> str:
    return (
        f"{report['replicated']} of {len(report['claims'])} claims replicate at all "
        f"{report['seeds']} seeds, {len(report['fragile_claims'])} fragile"
    )


def run_seeds(args, bundle, out: Path, t0: float) -> int:
    """Rebuild with the replicate seeds and write the replication certificate (see the module
    docstring for the exit status)."""
    from lnpaper.pipeline.yamlfile import safe_load
    from lnpaper.tools import verify
    from lnpaper.tools import verify_compare as cmp

    work = verify.unpack(bundle, out / "rebuild-seeds", args.config)
    config_file = work / verify.CONFIG_FILE
    config = safe_load(config_file.read_text(encoding="utf-8")) or {}
    try:
        seeds = parse_seeds(args.seeds, int(config.get("seed", 42)))
    except BadSeeds as err:
        print(f"lnpaper verify: refused: {err}", file=sys.stderr)
        return verify.REFUSED
    verify._write_yaml({**config, "replicate_seeds": seeds}, config_file)
    problems, report = [], None
    try:
        results = verify.rebuild(work, args.reuse_venv, args.cores)
        report = seeds_report(pd.read_csv(results / "tables" / "claims.csv"))
    except (RuntimeError, ValueError, OSError) as err:
        problems.append(f"rebuild with replicate seeds {seeds}: {err}")
    cert = verify.certify(bundle, None, "seeds", problems)
    cert["rule"] = cmp.RULES["seeds"]
    if report is not None:
        cert["seeds"] = report
        cert["summary"] = f"seeds {config.get('seed', 42)} + {seeds}: {summary(report)}"
    cert["wall_s"] = round(time.perf_counter() - t0, 1)
    _, h = cmp.write_certificate(cert, out)
    for line in [*problems, *(lines(report) if report else [])]:
        print(line, file=sys.stderr)
    print(f"{'FAIL' if problems else 'REPORT'} (seeds): {cert['summary']} -> {h}")
    return verify.DISAGREE if problems else verify.PASS
