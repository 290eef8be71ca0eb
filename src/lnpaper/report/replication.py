"""Replicate seeds: does each claim's verdict survive a change of the base seed?

With config ``replicate_seeds`` the data and experiments are rerun at each extra seed and the
claims audit is evaluated there with the same rules (``claims.evaluate_all``). This module compares
those audits with the base seed's: per claim, at how many of the K seeds (the base seed and each
replicate) the verdict is the base seed's, the deciding number (``value``) at each seed and its
spread. A claim whose verdict differs at some seed is *fragile*: its verdict is a property of
the draw, not only of the claim. Torch-free and file-free: tables in, table out.

With config ``replicate_kernels`` the same is done across CPU kernel paths at the base seed
(``KERNEL_COLUMNS``): the base build runs this machine's own kernels (``NATIVE``), each kernel
replicate one path (lnpaper.pipeline.kernels). A claim whose verdict changes with the path is
fragile across kernel paths: another CPU could give it another verdict.
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
# the columns the claims table gains when kernel replicates ran (none otherwise)
KERNEL_COLUMNS = [
    "kernels_agree",  # k: kernel paths whose verdict is the base build's (the base counts)
    "kernels",  # K: 1 + the number of kernel replicates
    "kernel_fragile",  # k < K
    "verdict_by_kernel",  # "native: holds; default: fails"
    "value_by_kernel",  # "native: 0.9903; default: 1.002"
]
NATIVE = "native"  # the base build's label among kernel paths: the machine's own kernels


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


def annotate_kernels(base: pd.DataFrame, kernels: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The claims table with ``KERNEL_COLUMNS`` added, from the claims tables of the kernel
    replicates (path -> table), all at the base seed. The base build is listed first as
    ``NATIVE``, then the paths in the order given; a claim a path's audit lacks disagrees there."""
    labels = [NATIVE, *kernels]
    tables = {NATIVE: _by_claim(base), **{p: _by_claim(t) for p, t in kernels.items()}}
    rows = []
    for cid in base["claim_id"].astype(str):
        got = [tables[p].get(cid, (MISSING, math.nan)) for p in labels]
        agree = sum(g[0] == got[0][0] for g in got)
        rows.append(
            {
                "kernels_agree": agree,
                "kernels": len(labels),
                "kernel_fragile": agree < len(labels),
                "verdict_by_kernel": "; ".join(f"{p}: {g[0]}" for p, g in zip(labels, got)),
                "value_by_kernel": "; ".join(
                    f"{p}: {_value_text(g[1])}" for p, g in zip(labels, got)
                ),
            }
        )
    extra = pd.DataFrame(rows, columns=KERNEL_COLUMNS, index=base.index)
    return pd.concat([base, extra], axis=1)


def annotate_replicates(
    base: pd.DataFrame, base_seed: int, named: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """The base claims table compared with each replicate's (its name -> its claims table; the
    names seed43, kernel-avx2 of lnpaper.pipeline.kernels): seed replicates give ``COLUMNS``,
    kernel replicates ``KERNEL_COLUMNS``, each only when some replicate of its kind ran."""
    from lnpaper.pipeline.kernels import parse_replicate

    parsed = [(parse_replicate(name, base_seed), t) for name, t in named.items()]
    seeds = {r.seed: t for r, t in parsed if r.kernel is None}
    kernels = {r.kernel: t for r, t in parsed if r.kernel is not None}
    out = annotate(base, base_seed, seeds) if seeds else base
    return annotate_kernels(out, kernels) if kernels else out


def kernel_replicated(table: pd.DataFrame) -> bool:
    """True when the claims table carries the kernel replicates' columns."""
    return all(c in table.columns for c in KERNEL_COLUMNS)


def kernel_fragile_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the claims whose verdict differs under some kernel path, in table order."""
    if not kernel_replicated(table):
        return table.iloc[0:0]
    return table[table["kernel_fragile"].astype(str).str.lower().isin(["true", "1"])]


def kernel_paths_of(table: pd.DataFrame) -> list[str]:
    """The kernel paths the verdicts were recomputed under (the base build's NATIVE left out)."""
    if not kernel_replicated(table) or not len(table):
        return []
    first = str(table["verdict_by_kernel"].iloc[0])
    return [item.split(": ", 1)[0] for item in first.split("; ")][1:]


def kernel_count(table: pd.DataFrame) -> float:
    """K, the kernel paths (the base build's included); NaN without kernel replicates."""
    return float(table["kernels"].max()) if kernel_replicated(table) and len(table) else math.nan


def kernel_stable_count(table: pd.DataFrame) -> float:
    """Claims whose verdict is the same under every kernel path; NaN without kernel replicates."""
    if not kernel_replicated(table):
        return math.nan
    return float(len(table) - len(kernel_fragile_claims(table)))


def replicated(table: pd.DataFrame) -> bool:
    """True when the claims table carries the replicate seeds' columns."""
    return all(c in table.columns for c in COLUMNS)


def fragile_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the fragile claims (their verdict differs at some seed), in table order."""
    if not replicated(table):
        return table.iloc[0:0]
    return table[table["fragile"].astype(str).str.lower().isin(["true", "1"])]


def fragility(table: pd.DataFrame) -> dict[str, list[tuple[str, int, int]]]:
    """claim_id -> what it is fragile to, [("seeds", k, K), ("kernels", k, K)], for each claim
    fragile across seeds or kernel paths; {} without replicates."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for r in fragile_claims(table).itertuples():
        out.setdefault(str(r.claim_id), []).append(("seeds", int(r.seeds_agree), int(r.seeds)))
    for r in kernel_fragile_claims(table).itertuples():
        out.setdefault(str(r.claim_id), []).append(
            ("kernels", int(r.kernels_agree), int(r.kernels))
        )
    return out


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
        "kernel_item": "“{claim}” ({verdicts})",
        "kernel_flag": "không bền: {k}/{n} nhánh kernel CPU",
        "kernel_none": "không có nhánh nào",
    },
    "en": {
        "none": "none",
        "item": "“{claim}” ({verdict} at {k} of {n} seeds; deciding value {low} to {high})",
        "flag": "fragile: {k} of {n} seeds",
        "kernel_item": "“{claim}” ({verdicts})",
        "kernel_flag": "fragile: {k} of {n} CPU kernel paths",
        "kernel_none": "none",
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


def kernel_fragile_text(table: pd.DataFrame, language: str) -> str:
    """The claims fragile across kernel paths named in words, each with its verdict under each
    path (e.g. "native: holds; default: fails", verdicts in the build's language)."""
    from lnpaper.report.claim_text import verdict_word

    words = WORDS[language]
    items = []
    for r in kernel_fragile_claims(table).itertuples():
        per = [item.split(": ", 1) for item in str(r.verdict_by_kernel).split("; ")]
        verdicts = "; ".join(
            f"{p}: {verdict_word(v, language) if v != MISSING else v}" for p, v in per
        )
        items.append(words["kernel_item"].format(claim=str(r.claim).rstrip("."), verdicts=verdicts))
    return "; ".join(items) if items else words["none"]


def kernel_paths_text(table: pd.DataFrame, language: str) -> str:
    """The kernel paths the verdicts were recomputed under, as code: `default`, `avx2`."""
    names = kernel_paths_of(table)
    return ", ".join(f"`{p}`" for p in names) if names else WORDS[language]["kernel_none"]


def fragile_flag(notes: list[tuple[str, int, int]], language: str) -> str:
    """The note a fragile claim's verdict gets where the text states it: what it is fragile
    to, seeds or CPU kernel paths, each with its k of K."""
    words = WORDS[language]
    key = {"seeds": "flag", "kernels": "kernel_flag"}
    return "; ".join(words[key[kind]].format(k=k, n=n) for kind, k, n in notes)
