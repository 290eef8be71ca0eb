"""The claim registry: a claim is a statement of the paper with a rule that returns a verdict from
the measured frames. Rule modules (claims_matrices, claims_training) register into ``CLAIMS``;
``claims`` evaluates them. Verdicts:
- ``holds``: the statement is true in every measured condition;
- ``fails``: it is false (in every condition, or in general);
- ``holds_only_if``: true only under ``condition``;
- ``inconclusive``: the interval of the deciding quantity straddles the rule's threshold, so the
  data cannot say on which side the truth is (another seed could flip a firm verdict there);
- ``not_measured``: the config measures nothing the statement is about (e.g. gamma = 3 is not in
  its grid, no seed reaches the loss threshold): no verdict is drawn from empty or NaN data.
The measured / theory / condition texts are ``claim_text.Text`` values (localized templates),
rendered in the build's language by ``claims.evaluate_all``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from lnpaper.experiments.stats import interval
from lnpaper.report.claim_text import Printed, Text, t
from lnpaper.report.numfmt import decimals_for, fmt_fixed, half_width

# the significance level of every test: 1 minus the confidence level of every interval (the
# default of ``stats.interval``, the one place it is set)
ALPHA = 1.0 - inspect.signature(interval).parameters["level"].default

VERDICTS = ("holds", "fails", "holds_only_if", "inconclusive", "not_measured")
# the verdicts of a rule with one test whose condition a config may not measure
ONE_TEST = ("holds", "fails", "not_measured")


@dataclass(frozen=True)
class ClaimResult:
    measured: Text
    theory: Text
    verdict: str
    condition: Text | None = None
    value: float = float("nan")  # the headline measured number, for numbers.json
    # its 95% interval where it has one: the tables print the value at the interval's digits
    value_ci: tuple[float, float] = (float("nan"), float("nan"))

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")
        for name in ("measured", "theory", "condition"):
            v = getattr(self, name)
            if not (isinstance(v, Text) or (name == "condition" and v is None)):
                raise TypeError(f"{name} must be a claim_text.Text (a localized template)")


@dataclass(frozen=True)
class Claim:
    claim_id: str
    section: str
    text_vi: str
    text_en: str
    requires: tuple[str, ...]
    evaluate: Callable = field(compare=False)
    produces: tuple[str, ...] = VERDICTS  # the verdicts its rule can return


CLAIMS: list[Claim] = []


def claim(
    claim_id: str,
    section: str,
    text_vi: str,
    text_en: str,
    requires: list[str],
    produces: tuple[str, ...] = VERDICTS,
):
    """Register ``fn(frames)`` or ``fn(frames, cfg)`` (cfg: the claims step's ``StepConfig``)
    returning a ClaimResult whose verdict is one of ``produces`` (the manuscript has a sentence
    variant for each: test_config_space checks it).
    A rule whose condition the config does not measure returns ``not_measured``."""

    def register(fn):
        if any(c.claim_id == claim_id for c in CLAIMS):
            raise ValueError(f"duplicate claim id {claim_id}")
        if set(produces) - set(VERDICTS):
            raise ValueError(f"claim {claim_id}: unknown verdicts in {produces}")
        CLAIMS.append(
            Claim(claim_id, section, text_vi, text_en, tuple(requires), fn, tuple(produces))
        )
        return fn

    return register


def ci_values(mean: float, lo: float, hi: float, name: str = "mean") -> dict[str, Printed]:
    """An estimate and its interval as the tables print them (``numfmt``: the digits the
    interval's half-width sets), for a template's ``{<name>} [{lo}, {hi}]``."""
    dec = decimals_for(half_width(lo, hi))
    return {
        name: Printed(fmt_fixed(mean, dec)),
        "lo": Printed(fmt_fixed(lo, dec)),
        "hi": Printed(fmt_fixed(hi, dec)),
    }


def ci_text(mean: float, lo: float, hi: float) -> Text:
    return t("ci", **ci_values(mean, lo, hi))


def side(lo: float, hi: float, threshold: float) -> str:
    """'below' / 'above' when the whole interval lies on one side of the threshold, else
    'straddles'."""
    if hi < threshold:
        return "below"
    if lo > threshold:
        return "above"
    return "straddles"


def binomial_p(k: int, n: int, alternative: str = "greater") -> float:
    """p-value of the exact binomial test of k successes in n trials against 1/2: "greater"
    (more successes than chance: the direction a claim states), "less", or "two-sided" (a claim
    with no direction). 5 of 5 gives 0.031 one-sided, 4 of 4 gives 0.0625."""
    from scipy import stats

    if n <= 0:
        return float("nan")
    return float(stats.binomtest(int(k), int(n), 0.5, alternative=alternative).pvalue)


def count_state(k: int, n: int) -> str:
    """The state of a directed claim from k of n seeds going its way (ties left out): holds when
    the one-sided exact binomial test rejects 1/2 at ``ALPHA`` in the claim's direction, fails
    when it rejects it in the other direction, else inconclusive (two one-sided tests at ALPHA,
    each of its own alternative)."""
    if binomial_p(k, n, "greater") < ALPHA:
        return "holds"
    if binomial_p(k, n, "less") < ALPHA:
        return "fails"
    return "inconclusive"


def combine(states: dict) -> tuple[str, list]:
    """Verdict over conditions from each condition's holds / fails / inconclusive / not_measured.

    Conditions not measured are left out. All hold: holds. All fail: fails. A condition that
    holds with others failing or undecided: holds_only_if (returns the keys where it holds; the
    rule names the undecided ones in its condition), so a significant result in one condition is
    reported, not averaged away with the others. Fails somewhere, holds nowhere, undecided
    elsewhere: fails (the statement is shown false as a general one). All undecided:
    inconclusive. Nothing measured: not_measured.
    """
    states = {k: v for k, v in states.items() if v != "not_measured"}
    if not states:
        return "not_measured", []
    vals = list(states.values())
    held = [k for k, v in states.items() if v == "holds"]
    if all(v == "holds" for v in vals):
        return "holds", held
    if held:
        return "holds_only_if", held
    if any(v == "fails" for v in vals):
        return "fails", []
    return "inconclusive", []


def holds_if(ok: bool, measured: Text, theory: Text, value: float) -> ClaimResult:
    """The verdict of a rule with one test: holds when ``ok``, else fails."""
    return ClaimResult(measured, theory, "holds" if ok else "fails", value=float(value))


def not_measured(measured, theory, why) -> ClaimResult:
    """The verdict of a rule whose condition this config does not measure; ``why`` says what is
    missing (a claim_text.Text)."""
    return ClaimResult(measured, theory, "not_measured", why, float("nan"))
