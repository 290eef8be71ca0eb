"""``lnpaper verify --kernels``: rounding sensitivity on one machine.

Another CPU runs other kernels, and training amplifies their rounding the way a change of seed
does (on one machine, torch, MKL and OpenBLAS held to AVX2 against AVX-512 flipped one verdict).
This mode rebuilds the paper under each CPU kernel path that torch and the BLAS offer on this CPU
(``ATEN_CPU_CAPABILITY`` default, avx2 and, where the CPU has it, avx512, with MKL and OpenBLAS
held to the matching instructions) and reports, per claim, whether its verdict is the same under
every path (stable) or not (fragile), and per quoted number whether it moves beyond its noise
(``manuscript.noise``). The bundle stands for the path it was built with when this machine runs
the same CPU and kernels; it is not rebuilt for that path.
"""

from __future__ import annotations

import math

import pandas as pd

from lnpaper.manuscript import noise
from lnpaper.pipeline.kernels import CPU_FLAG, PATHS, cpu_flags, kernel_paths  # noqa: F401

RANK = {noise.SAME: 0, noise.NOISE: 1, noise.SIGNIFICANT: 2}


def native_path(capability: str) -> str:
    """The path torch picks by itself (its reported capability, e.g. "AVX2" -> "avx2")."""
    name = str(capability).lower()
    return "avx512" if name.startswith("avx512") else name if name in PATHS else "default"


def sensitivity(builds: dict[str, tuple[pd.DataFrame | None, dict]]) -> dict:
    """Per claim and per quoted number, how they vary across kernel paths.

    ``builds``: path -> (claims table, numbers as numbers.json's "numbers" holds them: name ->
    {value, text, se, decimals}). A claim is fragile when its verdict is not the same under every
    path; a number is ``significant`` when some path moves it beyond noise from the first."""
    names = list(builds)
    verdicts = {
        p: ({} if c is None else dict(zip(c["claim_id"], c["verdict"], strict=True)))
        for p, (c, _) in builds.items()
    }
    claims = []
    for cid in sorted(set().union(*(set(v) for v in verdicts.values()))):
        per = {p: verdicts[p].get(cid, "–") for p in names}
        claims.append({"claim_id": cid, "verdicts": per, "fragile": len(set(per.values())) > 1})
    base = builds[names[0]][1]
    numbers = []
    for name in sorted(set().union(*(set(n) for _, n in builds.values()))):
        kinds = [noise.SAME]
        for p in names[1:]:
            a, b = base.get(name), builds[p][1].get(name)
            if a is None or b is None:
                kinds.append(noise.SIGNIFICANT)
                continue
            kinds.append(
                noise.classify(
                    _f(a.get("value")),
                    _f(b.get("value")),
                    _f(a.get("se")),
                    _f(b.get("se")),
                    _i(a.get("decimals")),
                    _i(b.get("decimals")),
                )
            )
        change = max(kinds, key=RANK.get)
        texts = {p: (builds[p][1].get(name) or {}).get("text", "–") for p in names}
        numbers.append({"name": name, "texts": texts, "change": change})
    return {
        "paths": names,
        "claims": claims,
        "numbers": numbers,
        "fragile_claims": [c["claim_id"] for c in claims if c["fragile"]],
    }


def numbers_of(frame: pd.DataFrame) -> dict:
    """A numbers.parquet as numbers.json's "numbers" holds it (name -> value, text, se, decimals)."""
    out = {}
    for r in frame.to_dict("records"):
        out[r["name"]] = {
            "value": _f(r.get("value")),
            "text": r.get("text"),
            "se": _f(r.get("se")),
            "decimals": _i(r.get("decimals")),
        }
    return out


def _f(v) -> float:
    return math.nan if v is None else float(v)


def _i(v) -> int | None:
    return None if v is None or not math.isfinite(float(v)) else int(v)


def lines(report: dict) -> list[str]:
    """One line per fragile claim and per number that moves beyond noise across kernel paths."""
    out = [
        f"claim {c['claim_id']}: fragile across kernel paths ("
        + ", ".join(f"{p} {v}" for p, v in c["verdicts"].items())
        + ")"
        for c in report["claims"]
        if c["fragile"]
    ]
    out += [
        f"number {n['name']}: depends on the kernel path ("
        + ", ".join(f"{p} {t}" for p, t in n["texts"].items())
        + ")"
        for n in report["numbers"]
        if n["change"] == noise.SIGNIFICANT
    ]
    return out
