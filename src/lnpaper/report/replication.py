"""Replicate seeds: does each claim's verdict survive a change of the base seed?

With config ``replicate_seeds`` the data and experiments are rerun at each extra seed and the
claims audit is evaluated there with the same rules (``claims.evaluate_all``). This module compares
those audits with the base seed's: per claim, at how many of the K seeds (the base seed and each
replicate) the verdict is the base seed's, the deciding number (``value``) at each seed and its
spread. A claim whose verdict differs at some seed is *fragile*: its verdict is a property of
the draw, not only of the claim. Torch-free and file-free: tables in, table out.
"""

from __future__ import annotations

import math

import pandas as pd

# the columns the claims table gains when replicate seeds ran (none otherwise)
COLUMNS = [
    "seeds_agree",  # k: seeds whose verdict is the base seed's (the base seed counts)
    "seeds",  # K: 1 + the number of replicate seeds
    "fragile",  # k < K
    "verdict_by_seed",  # "42: holds; 43: fails"
    "value_by_seed",  # "42: 0.9903; 43: 1.002"
    "value_min",
    "value_max",
]
MISSING = "–"  # a claim the audit of one seed did not give (its measurement found nothing)


def _value_text(v: float) -> str:
    return MISSING if v is None or not math.isfinite(v) else f"{v:.4g}"


def _by_claim(table: pd.DataFrame) -> dict[str, tuple[str, float]]:
    return {
        str(r.claim_id): (str(r.verdict), float(r.value) if pd.notna(r.value) else math.nan)
        for r in table.itertuples()
    }


def annotate(
    base: pd.DataFrame, base_seed: int, replicates: dict[int, pd.DataFrame]
) -> pd.DataFrame:
    """The base seed's claims table with ``COLUMNS`` added, from the claims tables of the
    replicate seeds (seed -> table with ``claim_id``, ``verdict``, ``value``). Seeds are listed
    base first, then in increasing order; a claim a replicate's audit lacks disagrees there."""
    seeds = [base_seed, *sorted(int(s) for s in replicates)]
    tables = {base_seed: _by_claim(base), **{int(s): _by_claim(t) for s, t in replicates.items()}}
    rows = []
    for cid in base["claim_id"].astype(str):
        got = [tables[s].get(cid, (MISSING, math.nan)) for s in seeds]
        verdicts, values = [g[0] for g in got], [g[1] for g in got]
        agree = sum(v == verdicts[0] for v in verdicts)
        finite = [v for v in values if math.isfinite(v)]
        rows.append(
            {
                "seeds_agree": agree,
                "seeds": len(seeds),
                "fragile": agree < len(seeds),
                "verdict_by_seed": "; ".join(f"{s}: {v}" for s, v in zip(seeds, verdicts)),
                "value_by_seed": "; ".join(f"{s}: {_value_text(v)}" for s, v in zip(seeds, values)),
                "value_min": min(finite) if finite else math.nan,
                "value_max": max(finite) if finite else math.nan,
            }
        )
    extra = pd.DataFrame(rows, columns=COLUMNS, index=base.index)
    return pd.concat([base, extra], axis=1)


def replicated(table: pd.DataFrame) -> bool:
    """True when the claims table carries the replicate seeds' columns."""
    return all(c in table.columns for c in COLUMNS)


def fragile_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the fragile claims (their verdict differs at some seed), in table order."""
    if not replicated(table):
        return table.iloc[0:0]
    return table[table["fragile"].astype(str).str.lower().isin(["true", "1"])]


def fragility(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """claim_id -> (k, K) for each fragile claim; {} without replicate seeds."""
    return {
        str(r.claim_id): (int(r.seeds_agree), int(r.seeds))
        for r in fragile_claims(table).itertuples()
    }


def seed_count(table: pd.DataFrame) -> float:
    """K, the seeds the verdicts were computed at; NaN without replicate seeds."""
    return float(table["seeds"].max()) if replicated(table) and len(table) else math.nan


def replicated_count(table: pd.DataFrame) -> float:
    """Claims whose verdict is the base seed's at every seed; NaN without replicate seeds."""
    return float(len(table) - len(fragile_claims(table))) if replicated(table) else math.nan


# the words of the prose list of fragile claims (``fragile_text``), per language
WORDS = {
    "vi": {
        "none": "không có khẳng định nào",
        "item": "“{claim}” ({verdict} ở {k}/{n} seed; giá trị quyết định {low}–{high})",
        "flag": "không bền: {k}/{n} seed",
    },
    "en": {
        "none": "none",
        "item": "“{claim}” ({verdict} at {k} of {n} seeds; deciding value {low} to {high})",
        "flag": "fragile: {k} of {n} seeds",
    },
}


def fragile_text(table: pd.DataFrame, language: str) -> str:
    """The fragile claims named in words (the claims table's ``claim``, in the build's language),
    each with the base verdict's share of seeds and its deciding value's spread across seeds."""
    from lnpaper.report.claim_text import verdict_word

    words = WORDS[language]
    items = [
        words["item"].format(
            claim=str(r.claim).rstrip("."),
            verdict=verdict_word(str(r.verdict), language),
            k=int(r.seeds_agree),
            n=int(r.seeds),
            low=_value_text(float(r.value_min)),
            high=_value_text(float(r.value_max)),
        )
        for r in fragile_claims(table).itertuples()
    ]
    return "; ".join(items) if items else words["none"]


def fragile_flag(k: int, n: int, language: str) -> str:
    """The note a fragile claim's verdict gets where the text states it."""
    return WORDS[language]["flag"].format(k=k, n=n)
