"""``lnpaper verify --seeds``: the replication mode parses its seeds, refuses the base seed in
one line, and certifies per claim whether its verdict replicates (exit 0 even when one is
fragile: it reports, it is no tamper check), with the rebuild replaced by a written table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_verify import make_bundle

from lnpaper.report import replication
from lnpaper.tools import verify, verify_seeds
from lnpaper.tools.cli import main


def test_seeds_are_distinct_integers_other_than_the_base_seed():
    assert verify_seeds.parse_seeds("43, 44", 42) == [43, 44]
    for bad, words in (("", "got ''"), ("43,x", "43,x"), ("43,43", "a seed twice")):
        with pytest.raises(verify_seeds.BadSeeds, match=words):
            verify_seeds.parse_seeds(bad, 42)
    with pytest.raises(verify_seeds.BadSeeds, match="the bundle's base seed"):
        verify_seeds.parse_seeds("43,42", 42)


def replicated_claims() -> pd.DataFrame:
    base = pd.DataFrame(
        {
            "claim_id": ["c1", "c2"],
            "claim": ["LN centres", "Post-LN trains"],
            "verdict": ["holds", "inconclusive"],
            "value": [0.0, 0.5],
        }
    )
    at_43 = base.assign(verdict=["holds", "holds"], value=[0.0, 0.8])
    return replication.annotate(base, 42, {43: at_43})


def fake_seed_rebuild(tables: pd.DataFrame, seen: list):
    def rebuild(work: Path, reuse_venv: bool, cores: int, extra_env=None) -> Path:
        seen.append((work / verify.CONFIG_FILE).read_text())
        results = work / "results"
        (results / "tables").mkdir(parents=True)
        tables.to_csv(results / "tables" / "claims.csv", index=False)
        return results

    return rebuild


def test_the_certificate_lists_per_claim_whether_it_replicates(tmp_path, monkeypatch, capsys):
    seen: list = []
    monkeypatch.setattr(verify, "rebuild", fake_seed_rebuild(replicated_claims(), seen))
    bundle, out = make_bundle(tmp_path), tmp_path / "cert"
    assert main(["verify", str(bundle), "--seeds", "43", "--out", str(out)]) == 0
    assert "replicate_seeds:\n- 43\n" in seen[0]  # the rebuild ran with the replicate seed
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["scope"] == "seeds" and cert["seeds"]["fragile_claims"] == ["c2"]
    rows = {c["claim_id"]: c for c in cert["seeds"]["claims"]}
    assert rows["c1"]["replicates"] and not rows["c2"]["replicates"]
    assert rows["c2"]["verdict_by_seed"] == "42: inconclusive; 43: holds"
    assert "1 of 2 claims replicate at all 2 seeds, 1 fragile" in capsys.readouterr().out
    page = (out / "certificate.html").read_text()
    assert "Claims across seeds" in page and "1 of 2" in page


def test_the_base_seed_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "rebuild", fake_seed_rebuild(replicated_claims(), []))
    bundle = make_bundle(tmp_path)
    assert main(["verify", str(bundle), "--seeds", "42", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the bundle's base seed" in err[0]
