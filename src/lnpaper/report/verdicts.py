"""The claim registry: a claim is a statement of the paper with a rule that returns a verdict from
the measured frames. Rule modules (claims_matrices, claims_training) register into ``CLAIMS``;
``claims`` evaluates them. Verdicts: ``holds``, ``fails``, ``holds_only_if`` (then ``condition``
says under which condition the statement is true).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lnpaper.report.formatting import fmt

VERDICTS = ("holds", "fails", "holds_only_if")


@dataclass(frozen=True)
class ClaimResult:
    measured: str
    theory: str
    verdict: str
    condition: str = ""
    value: float = float("nan")  # the headline measured number, for numbers.json

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")


@dataclass(frozen=True)
class Claim:
    claim_id: str
    section: str
    text_vi: str
    text_en: str
    requires: tuple[str, ...]
    evaluate: Callable = field(compare=False)


CLAIMS: list[Claim] = []


def claim(claim_id: str, section: str, text_vi: str, text_en: str, requires: list[str]):
    """Register ``fn(frames)`` or ``fn(frames, cfg)`` returning a ClaimResult (None: not measured
    under this config, the row is left out)."""

    def register(fn):
        if any(c.claim_id == claim_id for c in CLAIMS):
            raise ValueError(f"duplicate claim id {claim_id}")
        CLAIMS.append(Claim(claim_id, section, text_vi, text_en, tuple(requires), fn))
        return fn

    return register


def ci_text(mean: float, lo: float, hi: float) -> str:
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"
