"""Replicates: the k-of-K comparison of claim verdicts across seeds and across CPU kernel paths,
the numbers the paper quotes from it, and the prose that names a fragile claim in words (both
languages)."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from conftest import TEMPLATES
from lnpaper.manuscript import fill
from lnpaper.pipeline import registry
from lnpaper.report import replication

SECTION = {"en": "# Claims audit", "vi": "# Kiểm chứng các khẳng định"}
CLAIM_TEXT = {"en": "LayerNorm makes rows mean 0", "vi": "LayerNorm đưa trung bình hàng về 0"}


def table(rows, language="en") -> pd.DataFrame:
    """A claims table: (claim_id, verdict, value) per claim."""
    return pd.DataFrame(
        [
            {"claim_id": c, "claim": f"{CLAIM_TEXT[language]} ({c})", "verdict": v, "value": x}
            for c, v, x in rows
        ]
    )


BASE = [("a", "holds", 1.0), ("b", "holds", 0.5), ("c", "fails", 3.0)]


def compared(language="en") -> pd.DataFrame:
    """Seed 42 the base; at 43 claim b turns inconclusive (forced fragile); at 44 claim c is
    missing from the audit (its measurement found nothing) and so disagrees too."""
    seeds = {
        44: table([("a", "holds", 1.2), ("b", "holds", 0.7)]),
        43: table([("a", "holds", 0.9), ("b", "inconclusive", 0.4), ("c", "fails", 2.0)]),
    }
    return replication.annotate(table(BASE, language), 42, seeds)


def test_k_of_k_counts_each_seed_whose_verdict_is_the_base_seeds():
    out = compared().set_index("claim_id")
    assert list(out["seeds"]) == [3, 3, 3]
    assert list(out["seeds_agree"]) == [3, 2, 2]
    assert list(out["fragile"]) == [False, True, True]
    assert out.loc["b", "verdict_by_seed"] == "42: holds; 43: inconclusive; 44: holds"
    assert out.loc["c", "verdict_by_seed"] == "42: fails; 43: fails; 44: –"
    # the deciding number at each seed and its spread (the missing seed left out of it)
    assert out.loc["b", "value_by_seed"] == "42: 0.5; 43: 0.4; 44: 0.7"
    assert (out.loc["b", "value_min"], out.loc["b", "value_max"]) == (0.4, 0.7)
    assert (out.loc["c", "value_min"], out.loc["c", "value_max"]) == (2.0, 3.0)
    # the base table's own columns and rows are kept as they were
    assert list(out.reset_index()[["claim_id", "verdict"]].itertuples(index=False)) == [
        ("a", "holds"),
        ("b", "holds"),
        ("c", "fails"),
    ]


def test_the_numbers_exist_only_when_replicate_seeds_ran():
    out = compared()
    assert replication.seed_count(out) == 3
    assert replication.replicated_count(out) == 1
    assert replication.fragility(out) == {"b": [("seeds", 2, 3)], "c": [("seeds", 2, 3)]}
    plain = table(BASE)
    assert not replication.replicated(plain)
    for count in (replication.seed_count, replication.replicated_count):
        assert math.isnan(count(plain))
    assert replication.fragility(plain) == {}


def test_a_csv_round_trip_keeps_the_fragile_claims(tmp_path):
    path = tmp_path / "claims.csv"
    compared().to_csv(path, index=False)
    assert replication.fragility(pd.read_csv(path)) == {
        "b": [("seeds", 2, 3)],
        "c": [("seeds", 2, 3)],
    }


def claims_section(language: str) -> str:
    """The Claims audit section of the written template up to its first subsection (the
    untested claims, which refer to the table by number), without its table line."""
    text = fill.COMMENT.sub("", TEMPLATES[language])
    start = text.index(SECTION[language])
    section = text[start : re.search(r"\n##? ", text[start + 1 :]).start() + start + 1]
    return section.replace("{{table:claims_main}}", "")


def filled(language: str, claims: pd.DataFrame | None) -> str:
    source = claims if claims is not None else table(BASE, language)
    values = {"ClaimsTotal": len(source), "Seed": 42.0}
    for verdict, word in (("holds", "Hold"), ("fails", "Fail"), ("holds_only_if", "HoldOnlyIf")):
        values[f"Claims{word}"] = float((source["verdict"] == verdict).sum())
    values["ClaimsInconclusive"] = values["ClaimsNotMeasured"] = 0.0
    if claims is not None:
        values["ReplicateSeeds"] = replication.seed_count(claims)
        values["ClaimsReplicated"] = replication.replicated_count(claims)
        values["ReplicateKernels"] = replication.kernel_count(claims)
        values["ClaimsKernelStable"] = replication.kernel_stable_count(claims)
    numbers = pd.DataFrame({"name": list(values), "value": list(values.values())}).assign(
        text=lambda d: d["value"].map(lambda v: f"{v:g}")
    )
    build = fill.Build(
        config={e: {"enabled": True} for e in registry.EXPERIMENTS},
        language=language,
        numbers=numbers,
        tables={},
        captions={},
        traces={},
        claims=dict(zip(source["claim_id"], source["verdict"])),
        replication=claims,
    )
    return fill.fill(claims_section(language), build)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_paper_names_each_fragile_claim_in_words_with_its_spread(language):
    text = filled(language, compared(language))
    assert "[3]" in text and "[1]" in text  # 3 seeds, 1 claim with the same verdict at all
    assert f"“{CLAIM_TEXT[language]} (b)”" in text and f"“{CLAIM_TEXT[language]} (c)”" in text
    assert f"“{CLAIM_TEXT[language]} (a)”" not in text  # not fragile: not named
    assert "0.4–0.7" in text if language == "vi" else "0.4 to 0.7" in text
    assert "replicate_seeds" in text


@pytest.mark.parametrize("language", ["en", "vi"])
def test_without_replicate_seeds_the_paper_says_one_seed(language):
    text = filled(language, None)
    assert "[42]" in text
    assert CLAIM_TEXT[language] not in text


def test_a_fragile_claims_stated_verdict_says_at_how_many_seeds_it_holds():
    out = compared()
    verdicts = dict(zip(out["claim_id"], out["verdict"]))
    text = fill.bind_claims("{{claim:a}} and {{claim:b}}", verdicts, "en", out)
    assert text.startswith('[holds]{.claim data-claim="a"')
    assert '[holds (fragile: 2 of 3 seeds)]{.claim data-claim="b"' in text
    plain = fill.bind_claims("{{claim:b}}", verdicts, "en")
    assert "fragile" not in plain


def test_the_main_texts_claims_table_gains_k_of_k_only_with_replicate_seeds():
    from lnpaper.report.tables import claims_summary

    rows = [("a", "holds", 1.0), ("b", "holds", 0.5)]
    base = table(rows).assign(section="5.1", value_ci_low=0.0, value_ci_high=2.0)
    plain = claims_summary(base, "en")
    assert "seeds_agree" not in plain.columns
    at_43 = table([("a", "holds", 1.1), ("b", "fails", 0.6)])
    shown = claims_summary(replication.annotate(base, 42, {43: at_43}), "en")
    assert list(shown["seeds_agree"]) == ["2/2", "1/2"]
    assert shown.drop(columns="seeds_agree").equals(plain)


def across_kernels(language="en", seeds=False) -> pd.DataFrame:
    """The base build (native kernels) and the default path's replicate, where claim b turns
    inconclusive; with ``seeds``, seed 43's replicate too, where every verdict is the base's."""
    named = {"kernel-default": table([("a", "holds", 1.0), ("b", "inconclusive", 0.45)])}
    if seeds:
        named["seed43"] = table(BASE)
    return replication.annotate_replicates(table(BASE, language), 42, named)


def test_kernel_paths_are_compared_like_seeds_with_columns_of_their_own():
    out = across_kernels().set_index("claim_id")
    assert list(out["kernels"]) == [2, 2, 2]
    assert list(out["kernels_agree"]) == [2, 1, 1]  # c: the default path's audit lacks it
    assert list(out["kernel_fragile"]) == [False, True, True]
    assert out.loc["b", "verdict_by_kernel"] == "native: holds; default: inconclusive"
    assert out.loc["b", "value_by_kernel"] == "native: 0.5; default: 0.45"
    assert not replication.replicated(out)  # no seed replicate ran: no seed columns
    assert replication.kernel_paths_of(out.reset_index()) == ["default"]
    assert (replication.kernel_count(out), replication.kernel_stable_count(out)) == (2, 1)
    both = across_kernels(seeds=True)
    assert replication.replicated(both) and replication.kernel_replicated(both)
    assert list(both["seeds_agree"]) == [2, 2, 2]
    assert replication.fragility(both) == {"b": [("kernels", 1, 2)], "c": [("kernels", 1, 2)]}
    plain = table(BASE)
    assert math.isnan(replication.kernel_count(plain)) and replication.kernel_paths_of(plain) == []


def test_a_claims_flag_says_whether_seeds_or_kernel_paths_change_it():
    out = replication.annotate_replicates(
        table(BASE),
        42,
        {"seed43": table([("a", "fails", 1.0), *BASE[1:]]), "kernel-avx2": table(BASE[1:])},
    )
    verdicts = dict(zip(out["claim_id"], out["verdict"]))
    text = fill.bind_claims("{{claim:a}} {{claim:b}}", verdicts, "en", out)
    assert "[holds (fragile: 1 of 2 seeds; fragile: 1 of 2 CPU kernel paths)]" in text
    assert '[holds]{.claim data-claim="b"' in text
    vi = fill.bind_claims("{{claim:a}}", verdicts, "vi", out)
    assert "không bền: 1/2 seed; không bền: 1/2 nhánh kernel CPU" in vi


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_paper_names_the_kernel_paths_and_the_claims_they_change(language):
    text = filled(language, across_kernels(language))
    assert "replicate_kernels" in text and "`default`" in text
    assert "[2]" in text and "[1]" in text  # 2 kernel paths, 1 claim stable under both
    assert f"“{CLAIM_TEXT[language]} (b)”" in text and f"“{CLAIM_TEXT[language]} (a)”" not in text
    assert "default: " in text  # each path's verdict, named
    assert "replicate_seeds" not in text  # the seed sentence is the one-seed variant
    assert "[42]" in text


@pytest.mark.parametrize("language", ["en", "vi"])
def test_without_kernel_replicates_the_section_has_no_kernel_sentence(language):
    for claims in (None, compared(language)):
        text = filled(language, claims)
        assert "replicate_kernels" not in text and "kernel" not in text.lower()
