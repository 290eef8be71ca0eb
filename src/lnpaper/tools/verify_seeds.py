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
