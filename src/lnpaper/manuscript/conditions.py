"""Prose that follows the config and the data: lists read from the config, sentences bound to a
comparison of measured intervals, quotations of the article, and the stop on a number the build
cannot compute.

- ``{{list:Name}}``: a set of the config (``LISTS``: the gamma grid, the normalizers trained...),
  written as the build runs it, never typed;
- ``{{#when Cmp above|below|undecided|not_measured}} ... {{/when}}``: a sentence bound to the
  comparison ``Cmp`` (``COMPARISONS``): two quantities, each a 95% interval over seeds (or a
  fixed level such as chance), are ``above`` or ``below`` one another only when the intervals do
  not overlap, ``undecided`` when they do (not decided by these runs), ``not_measured`` when a
  bound is missing (the condition is not in the config);
- ``{{#when A,B measured|not_measured}} ... {{/when}}``: a sentence kept only when every number
  listed has a value (``measured``), or only when one has none (``not_measured``);
- consecutive ``#when`` blocks of one head are the variants of one sentence: exactly the one
  matching the data is kept, and a group with no matching variant stops the build naming it;
- ``{{#quote}} ... {{/quote}}``: the article's own words and constants (its "std 1.02", its
  Table 5.1), printed as they are; the markers are dropped.

A ``{{num:Name}}`` left in the filled text whose value is missing (NaN, or its source not in
the build) stops the build (``MissingNumber``) naming the number and why: the prose never prints a
placeholder dash. Tables keep "–" for cells that do not apply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pandas as pd

from lnpaper.pipeline.inputs import InputError

# ---------------------------------------------------------------- sets read from the config


def _reference_dataset(names: list[str]) -> str:
    """The data set the text quotes (the numbers' and figures' rule)."""
    from lnpaper.report.summaries import reference_dataset

    return reference_dataset(pd.DataFrame({"dataset": names}))


def _labels(values, language: str) -> str:
    from lnpaper.report.labels import label

    return ", ".join(label(v, language) for v in values)


# how a list prints its config values
STYLES: dict[str, Callable[[list, str], str]] = {
    "numbers": lambda v, lang: ", ".join(f"{float(x):g}" for x in v),
    "labels": _labels,
    "names": lambda v, lang: ", ".join(str(x) for x in v),
    "code": lambda v, lang: ", ".join(f"`{x}`" for x in v),
    "reference": lambda v, lang: f"`{_reference_dataset(list(v))}`",
}
# name -> (experiment section, config key, style)
LISTS: dict[str, tuple[str, str, str]] = {
    "AffineGammas": ("affine", "gamma", "numbers"),
    "AffineBetas": ("affine", "beta", "numbers"),
    "MatmulScales": ("matmul", "scales", "numbers"),
    "MatmulSizes": ("matmul", "sizes", "numbers"),
    "MatmulDists": ("matmul", "b_dists", "labels"),
    "PrecisionDtypes": ("precision", "dtypes", "names"),
    "PrecisionOffsets": ("precision", "offsets", "numbers"),
    "BatchSizes": ("batch_dependence", "batch_sizes", "numbers"),
    "LnEpsSigmas": ("layernorm_stats", "eps_sigmas", "numbers"),
    "TransformerLayers": ("transformer", "layers", "numbers"),
    "LnGroupSizes": ("layernorm_stats", "group_sizes", "numbers"),
    "TrainDepths": ("training", "depths", "numbers"),
    "TrainNorms": ("training", "norms", "labels"),
    "TrainArchs": ("training", "archs", "labels"),
    "TrainDatasets": ("training", "datasets", "code"),
    "TrainRefDataset": ("training", "datasets", "reference"),
}


# lists read from the results, not the config (lnpaper.report.replication): the claims that
# replicate seeds found fragile, named in words with their deciding value's spread; the kernel
# paths the verdicts were recomputed under; the claims fragile across them, with each verdict
RESULT_LISTS = ("FragileClaims", "KernelPaths", "KernelFragileClaims")


def list_text(name: str, config: dict, language: str) -> str:
    section, key, style = LISTS[name]
    return STYLES[style](config[section][key], language)


def manuscript_config(config: dict, experiments) -> dict:
    """What the manuscript step needs of the config: each experiment's ``enabled`` flag (what is
    built) and the values its lists print (so a change of them reruns the manuscript only)."""
    out = {e: {"enabled": config.get(e, {}).get("enabled", True)} for e in experiments}
    for section, key, _ in LISTS.values():
        if section in out and key in config.get(section, {}):
            out[section][key] = config[section][key]
    return out


# ---------------------------------------------------------------- comparisons of intervals

# name -> ((low, high) of the first quantity, (low, high) of the second): numbers of numbers.py
COMPARISONS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # the plain MLP at the reference depth
    "TrainNoneVsChance": (("TrainAccNoneLow", "TrainAccNoneHigh"), ("TrainChance", "TrainChance")),
    "TrainLayerNormVsNone": (
        ("TrainAccLayerNormLow", "TrainAccLayerNormHigh"),
        ("TrainAccNoneLow", "TrainAccNoneHigh"),
    ),
    "TrainGradNoneVsLayerNorm": (
        ("TrainGradInitNoneLow", "TrainGradInitNoneHigh"),
        ("TrainGradInitLayerNormLow", "TrainGradInitLayerNormHigh"),
    ),
    "TrainDytVsLayerNorm": (
        ("TrainAccDytLow", "TrainAccDytHigh"),
        ("TrainAccLayerNormLow", "TrainAccLayerNormHigh"),
    ),
    "TrainGroupNormVsLayerNorm": (
        ("TrainAccGroupNormLow", "TrainAccGroupNormHigh"),
        ("TrainAccLayerNormLow", "TrainAccLayerNormHigh"),
    ),
    # the plain MLP at the deepest depth
    "TrainDeepLayerNormVsNone": (
        ("TrainDeepAccLayerNormLow", "TrainDeepAccLayerNormHigh"),
        ("TrainDeepAccNoneLow", "TrainDeepAccNoneHigh"),
    ),
    # residual connections without normalization against the plain MLP with LayerNorm
    "TrainDeepResidualNoneVsLayerNorm": (
        ("TrainDeepResidualAccNoneLow", "TrainDeepResidualAccNoneHigh"),
        ("TrainDeepAccLayerNormLow", "TrainDeepAccLayerNormHigh"),
    ),
    # the Transformer's final loss: Post-LN without warm-up against chance, with against without
    # warm-up for each form
    "TransformerPostNoWarmupVsChance": (
        ("TransformerLossPostNoWarmupLow", "TransformerLossPostNoWarmupHigh"),
        ("TransformerChanceLoss", "TransformerChanceLoss"),
    ),
    "TransformerPostWarmupVsNoWarmup": (
        ("TransformerLossPostWarmupLow", "TransformerLossPostWarmupHigh"),
        ("TransformerLossPostNoWarmupLow", "TransformerLossPostNoWarmupHigh"),
    ),
    "TransformerPreWarmupVsNoWarmup": (
        ("TransformerLossPreWarmupLow", "TransformerLossPreWarmupHigh"),
        ("TransformerLossPreNoWarmupLow", "TransformerLossPreNoWarmupHigh"),
    ),
    "TrainResidualNoneVsChance": (
        ("TrainResidualAccNoneLow", "TrainResidualAccNoneHigh"),
        ("TrainChance", "TrainChance"),
    ),
    # residual nets, LayerNorm against none: how many conditions LayerNorm converges
    # significantly later in (a count, against none), and the paired oscillation ratio of the
    # condition with the largest lower bound against a ratio of one
    "TrainResidualLaterVsNone": (
        ("TrainResidualLater", "TrainResidualLater"),
        ("TrainLevelNone", "TrainLevelNone"),
    ),
    # LayerNorm's output spread at the smallest input spread run, against one: below when
    # epsilon keeps a small input from being scaled up to unit spread
    "LnEpsStdVsOne": (("LnEpsStdTorchMin", "LnEpsStdTorchMin"), ("LnLevelOne", "LnLevelOne")),
    # the smallest sigma run against the one the text quotes: below when the sweep goes further
    "LnEpsSigmaMinVsQuoted": (("LnEpsSigmaMin", "LnEpsSigmaMin"), ("LnEpsSigma", "LnEpsSigma")),
    "TrainResidualOscVsEven": (
        ("TrainResidualOscRatioLow", "TrainResidualOscRatioHigh"),
        ("TrainLevelEven", "TrainLevelEven"),
    ),
}
COMPARE_OUTCOMES = ("above", "below", "undecided", "not_measured")
MEASURE_OUTCOMES = ("measured", "not_measured")


def comparison_numbers() -> set[str]:
    return {n for pair in COMPARISONS.values() for bounds in pair for n in bounds}


def order(a: tuple[float, float], b: tuple[float, float]) -> str:
    """``above`` / ``below`` when interval ``a`` lies wholly above / below ``b``, ``undecided``
    when they overlap, ``not_measured`` when a bound is missing."""
    if not all(math.isfinite(x) for x in (*a, *b)):
        return "not_measured"
    tol = 1e-6 * max(abs(x) for x in (*a, *b))  # float32 measures equal to a level stay equal
    if a[0] > b[1] + tol:
        return "above"
    if a[1] < b[0] - tol:
        return "below"
    return "undecided"


def values_of(numbers: pd.DataFrame) -> dict[str, float]:
    """name -> value of a build's numbers (none for an empty frame)."""
    if "value" not in numbers:
        return {}
    return dict(zip(numbers["name"], numbers["value"].astype(float)))


def outcome(head: str, values: dict[str, float]) -> str:
    """The outcome of a ``#when`` head: a comparison, or a comma list of numbers."""
    if head in COMPARISONS:
        (alo, ahi), (blo, bhi) = COMPARISONS[head]
        get = lambda n: values.get(n, math.nan)  # noqa: E731
        return order((get(alo), get(ahi)), (get(blo), get(bhi)))
    measured = all(math.isfinite(values.get(n, math.nan)) for n in head.split(","))
    return "measured" if measured else "not_measured"


def bound_numbers(template: str) -> set[str]:
    """The numbers the ``#when`` heads of a template read (a comparison's interval bounds)."""
    out: set[str] = set()
    for m in WHEN_BLOCK.finditer(COMMENT.sub("", template)):
        head = m.group(1)
        if head in COMPARISONS:
            out |= {n for bounds in COMPARISONS[head] for n in bounds}
        else:
            out |= set(head.split(","))
    return out


def outcomes_of(head: str) -> tuple[str, ...]:
    return COMPARE_OUTCOMES if head in COMPARISONS else MEASURE_OUTCOMES


COMMENT = re.compile(r"<!--.*?-->\n?", re.S)  # notes to authors, dropped before filling
WHEN_OPEN = re.compile(r"#when (\S+) ([a-z_]+(?:\|[a-z_]+)*)")
WHEN_BLOCK = re.compile(r"\{\{#when (\S+) ([a-z_|]+)\}\}(.*?)\{\{/when\}\}", re.S)
QUOTE_MARK = re.compile(r"\{\{#quote\}\}|\{\{/quote\}\}")


class NoVariant(InputError):
    """A sentence bound to the data has no variant for what this build measured."""


def head_problems(inner: str, numbers: frozenset[str]) -> list[str]:
    """What is wrong with a ``{{#when ...}}`` head (template check)."""
    m = WHEN_OPEN.fullmatch(inner)
    shown = "{{" + inner + "}}"
    if not m:
        return [f"malformed {shown}; allowed: {{{{#when <comparison|numbers> <outcome>[|...]}}}}"]
    head, said = m.group(1), m.group(2).split("|")
    out = []
    if head not in COMPARISONS:
        unknown = [n for n in head.split(",") if n not in numbers]
        if unknown:
            out.append(
                f"{shown}: '{unknown[0]}' is neither a comparison "
                f"({', '.join(sorted(COMPARISONS))}) nor a number"
            )
    allowed = outcomes_of(head)
    out += [
        f"{shown}: unknown outcome '{o}'; allowed: {', '.join(allowed)}"
        for o in said
        if o not in allowed
    ]
    return out


def groups(text: str) -> list[tuple[str, set[str], list[re.Match]]]:
    """(head, outcomes covered, blocks) of each run of adjacent ``#when`` blocks of one head."""
    out: list[tuple[str, set[str], list[re.Match]]] = []
    end = None
    for m in WHEN_BLOCK.finditer(text):
        if out and out[-1][0] == m.group(1) and not text[end : m.start()].strip():
            out[-1][1].update(m.group(2).split("|"))
            out[-1][2].append(m)
        else:
            out.append((m.group(1), set(m.group(2).split("|")), [m]))
        end = m.end()
    return out


def _sentence(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 90 else one[:87] + "..."


def bind_when(text: str, values: dict[str, float]) -> str:
    """Keep, of each group of ``#when`` variants, the one matching the data; raise
    ``NoVariant`` when none matches."""
    spans: list[tuple[int, int, str]] = []
    for head, _, blocks in groups(text):
        got = outcome(head, values)
        chosen = [m for m in blocks if got in m.group(2).split("|")]
        if not chosen:
            raise NoVariant(
                f'the sentence "{_sentence(blocks[0].group(3))}" has no variant for '
                f"{head} = {got} in this build"
            )
        start, end, kept = blocks[0].start(), blocks[-1].end(), chosen[0].group(3)
        if not kept and text[start - 1 : start] in ("\n", "") and text[end : end + 1] == "\n":
            end += 1  # a sentence dropped from a line of its own leaves no empty line
        spans.append((start, end, kept))
    for start, end, kept in reversed(spans):
        text = text[:start] + kept + text[end:]
    return text


def strip_quotes(text: str) -> str:
    return QUOTE_MARK.sub("", text)


# ---------------------------------------------------------------- numbers the build lacks


class MissingNumber(InputError):
    """The prose quotes a number this build has no value for."""


def missing_number(name: str, numbers: pd.DataFrame, context: str) -> MissingNumber:
    """The error for ``{{num:name}}`` with no value: why it has none, and the sentence."""
    from lnpaper.report.numbers import SPEC

    spec = next(n for n in SPEC if n.name == name)
    rows = numbers[numbers["name"] == name]
    if len(rows):
        why = f"its source {spec.source} has no row for it under this config"
    else:
        why = f"its source {spec.source} is not part of this build"
    return MissingNumber(
        f'number {{{{num:{name}}}}} has no value ({why}) in "{_sentence(context)}": bind the '
        f"sentence with {{{{#when {name} measured}}}} ... {{{{/when}}}} and a not_measured variant"
    )
