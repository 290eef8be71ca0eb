"""Two or more builds side by side: every quoted number's value in each build, whether it changed
beyond noise (``noise``), and the claims whose verdict is not the same in all of them.

``lnpaper diff A B C ... --json FILE`` writes ``compare`` as JSON and puts ``side_by_side`` on
the page (the page itself is the diff of the first build and the last, ``diff.write_diff``).
Each later build is judged against the first: a number is significant when it moves beyond its
noise in any of them, within noise when it moves in some but never beyond.
"""

from __future__ import annotations

import math

from lnpaper.manuscript import noise
from lnpaper.manuscript.diff import Snapshot, _t, number_change

RANK = {noise.SAME: 0, noise.NOISE: 1, noise.SIGNIFICANT: 2}


def _json_float(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def number_rows(snaps: list[Snapshot]) -> dict[str, dict]:
    """name -> {values, texts, se (per build; null where a build lacks it), change}."""
    base, out = snaps[0], {}
    names = sorted(set().union(*(s.numbers for s in snaps)))
    for name in names:
        change = max((number_change(base, s, name) for s in snaps[1:]), key=RANK.get)
        out[name] = {
            "values": [_json_float(s.numbers.get(name, (math.nan, ""))[0]) for s in snaps],
            "texts": [s.numbers.get(name, (math.nan, "–"))[1] for s in snaps],
            "se": [_json_float(s.uncertainty.get(name, (math.nan, None))[0]) for s in snaps],
            "change": change,
            "significant": change == noise.SIGNIFICANT,
        }
    return out


def verdict_flips(snaps: list[Snapshot]) -> list[dict]:
    """The claims whose verdict is not the same in every build, with the verdict of each."""
    frames = [s.claims.set_index("claim_id") if s.claims is not None else None for s in snaps]
    ids = sorted(set().union(*(set(f.index) for f in frames if f is not None)))
    out = []
    for cid in ids:
        verdicts = [
            str(f.at[cid, "verdict"]) if f is not None and cid in f.index else "–" for f in frames
        ]
        if len(set(verdicts)) > 1:
            claim = next(
                str(f.at[cid, "claim"]) for f in frames if f is not None and cid in f.index
            )
            out.append({"claim_id": cid, "claim": claim, "verdicts": verdicts})
    return out


def compare(snaps: list[Snapshot]) -> dict:
    """What ``--json`` writes: the builds, every number per build, the verdict flips, counts."""
    rows = number_rows(snaps)
    flips = verdict_flips(snaps)
    counts = {k: sum(r["change"] == k for r in rows.values()) for k in RANK}
    return {
        "builds": [s.label for s in snaps],
        "numbers": rows,
        "verdict_flips": flips,
        "counts": {**counts, "verdict_flips": len(flips)},
    }


def side_by_side(result: dict, language: str) -> list[str]:
    """Markdown: a table of each build's printed value of every number that changed, the
    significant ones first."""
    builds = result["builds"]
    changed = [(n, r) for n, r in result["numbers"].items() if r["change"] != noise.SAME]
    changed.sort(key=lambda item: (-RANK[item[1]["change"]], item[0]))
    lines = ["", f"## {_t('side_by_side', language)}", ""]
    if not changed:
        return [*lines, f"- {_t('none', language)}"]
    lines.append("| | " + " | ".join(f"`{b}`" for b in builds) + " | |")
    lines.append("|---" * (len(builds) + 2) + "|")
    for name, r in changed:
        mark = "**≠**" if r["significant"] else "≈"
        lines.append(f"| `{name}` | " + " | ".join(r["texts"]) + f" | {mark} |")
    return lines
