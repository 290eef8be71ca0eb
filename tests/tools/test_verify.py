"""``lnpaper verify`` on a small fake bundle: an untouched bundle is intact; an edited number,
table cell, Parquet value or verdict is named and fails at once (exit 1, no rebuild); a bundle
from a dirty tree or without its source is refused in one line (exit 2); the comparison with a
rebuild judges numbers at their digits on the same machine and within noise on another."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import git
from lnpaper.manuscript.bundle import write_bundle
from lnpaper.manuscript.reproduce import LAYOUT, reproduce_files
from lnpaper.tools import verify_compare as cmp
from lnpaper.tools.cli import main
from lnpaper.tools.verify_bundle import Refused, integrity_problems, open_bundle

NUMBERS = {
    "numbers": {
        "TrainAccLayerNorm": {"value": 0.86, "text": "0.86 ± 0.06", "se": 0.03, "decimals": 2},
        "Seed": {"value": 42.0, "text": "42", "se": None, "decimals": 0},
    }
}
CLAIMS = "claim_id,claim,verdict\nc1,LN centres,holds\nc2,Post-LN trains,inconclusive\n"
TABLE = "k,r_mean,r_ci_low,r_ci_high\n3,0.727,0.708,0.746\n10,0.930,0.901,0.948\n"


def make_bundle(tmp: Path, dirty: bool = False, source: bool = True) -> Path:
    root = tmp / "checkout"
    root.mkdir()
    (root / "Snakefile").write_text("# the workflow\n")
    commit = "unknown"
    if source:
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "sources")
        commit = git(root, "rev-parse", "HEAD")
    science = tmp / "growth.parquet"
    pd.DataFrame({"n": range(600), "rate": [0.1 * i for i in range(600)]}).to_parquet(science)
    files = {
        "numbers.json": json.dumps(NUMBERS).encode(),
        "tables/claims.csv": CLAIMS.encode(),
        "tables/ln_correlation.csv": TABLE.encode(),
    }
    files |= reproduce_files(
        files,
        config={"seed": 42, "mlflow": {"tracking_uri": "http://user:secret@host:5000"}},
        git={"commit": commit, "dirty": "true" if dirty else "false"},
        root=root,
        science={"matmul/growth": str(science)},
        lock=None,
    )
    path = tmp / "bundle.zip"
    write_bundle(path, files)
    return path


def edit(path: Path, name: str, change) -> None:
    """Replace one file of the zip by ``change(its bytes)``, keeping the digests as they were."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    files[name] = change(files[name])
    write_bundle(path, files)


@pytest.fixture
def bundle(tmp_path) -> Path:
    return make_bundle(tmp_path)


def test_an_untouched_bundle_is_intact_and_private(bundle):
    b = open_bundle(bundle)
    assert integrity_problems(b) == []
    assert set(b.science()) == {"matmul/growth"}
    config = b.files[LAYOUT["config"]].decode()
    assert "secret" not in config and "http://host:5000" in config
    machine = b.json("machine")
    assert machine["cpu"] and machine["cores"] >= 1 and "torch" in machine["versions"]
    assert not {"host", "executable", "user"} & set(machine)


def test_an_edited_number_is_named(bundle):
    def change(data):
        numbers = json.loads(data)
        numbers["numbers"]["TrainAccLayerNorm"].update(value=0.91, text="0.91 ± 0.06")
        return json.dumps(numbers).encode()

    edit(bundle, "numbers.json", change)
    assert integrity_problems(open_bundle(bundle)) == [
        "number TrainAccLayerNorm: edited after the build in numbers.json (now 0.91 ± 0.06)"
    ]


def test_an_edited_table_cell_is_named_by_column_and_row(bundle):
    edit(bundle, "tables/ln_correlation.csv", lambda d: d.replace(b"0.930", b"0.950"))
    [line] = integrity_problems(open_bundle(bundle))
    assert (
        line == "tables/ln_correlation.csv: table cell edited after the build: column r_mean, row 1"
    )


def test_an_edited_parquet_value_is_named(bundle):
    def change(data):
        frame = pd.read_parquet(io.BytesIO(data))
        frame.loc[300, "rate"] = 99.0
        out = io.BytesIO()
        frame.to_parquet(out)
        return out.getvalue()

    edit(bundle, "data/matmul/growth.parquet", change)
    [line] = integrity_problems(open_bundle(bundle))
    assert line == (
        "data/matmul/growth.parquet: Parquet value edited after the build: column rate, "
        "rows 256-511"
    )


def test_an_edited_verdict_is_named_by_its_claim(bundle):
    edit(bundle, "tables/claims.csv", lambda d: d.replace(b"trains,inconclusive", b"trains,holds"))
    assert integrity_problems(open_bundle(bundle)) == [
        "tables/claims.csv: verdict of claim c2 was edited after the build (now holds)"
    ]


def test_a_tampered_bundle_fails_at_once_naming_the_culprit(bundle, tmp_path, capsys):
    edit(bundle, "tables/claims.csv", lambda d: d.replace(b"trains,inconclusive", b"trains,holds"))
    out = tmp_path / "cert"
    assert main(["verify", str(bundle), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "verdict of claim c2" in err
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["verdict"] == "fail" and not (out / "rebuild").exists()
    assert "verdict of claim c2" in (out / "certificate.html").read_text()


@pytest.mark.parametrize(
    "kind, words",
    [("dirty", "uncommitted changes"), ("nosource", "source of this paper cannot be found")],
)
def test_a_bundle_that_cannot_be_rebuilt_is_refused_in_one_line(tmp_path, capsys, kind, words):
    path = make_bundle(tmp_path, dirty=kind == "dirty", source=kind != "nosource")
    with pytest.raises(Refused, match=words):
        open_bundle(path)
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_a_folder_without_a_bundle_is_refused(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "cannot be found" in capsys.readouterr().err


def test_numbers_agree_at_their_digits_on_one_machine_and_within_noise_on_another():
    rebuilt = pd.DataFrame(
        {
            "name": ["TrainAccLayerNorm", "Seed"],
            "value": [0.839, 42.0],
            "text": ["0.839 ± 0.098", "42"],
            "se": [0.05, math.nan],
            "decimals": [3.0, 0.0],
        }
    )
    same = {r["name"]: r["agrees"] for r in cmp.compare_numbers(NUMBERS["numbers"], rebuilt, True)}
    other = {
        r["name"]: r["agrees"] for r in cmp.compare_numbers(NUMBERS["numbers"], rebuilt, False)
    }
    assert same == {"TrainAccLayerNorm": False, "Seed": True}
    assert other == {"TrainAccLayerNorm": True, "Seed": True}


def test_a_flipped_verdict_is_one_line_saying_whether_it_is_known_fragile():
    old = pd.read_csv(io.StringIO(CLAIMS)).assign(fragile=[False, True])
    new = pd.read_csv(io.StringIO(CLAIMS.replace("trains,inconclusive", "trains,fails")))
    cert = {"claims": cmp.compare_claims(old, new)}
    assert cmp.disagreements(cert) == ["claim c2: inconclusive -> fails (known fragile)"]


def test_science_files_identical_or_their_largest_difference(tmp_path):
    frame = pd.DataFrame({"n": [1, 2], "rate": [0.5, 0.25]})
    data = io.BytesIO()
    frame.to_parquet(data)
    results = tmp_path / "results"
    (results / "experiments/matmul").mkdir(parents=True)
    frame.to_parquet(results / "experiments/matmul/growth.parquet")
    same = cmp.compare_science({"matmul/growth": data.getvalue()}, results, exact=True)
    assert same[0]["identical"] and same[0]["agrees"]
    frame.assign(rate=[0.5, 0.2501]).to_parquet(results / "experiments/matmul/growth.parquet")
    [row] = cmp.compare_science({"matmul/growth": data.getvalue()}, results, exact=True)
    assert not row["agrees"] and row["largest_difference"] == pytest.approx(1e-4)
    assert row["where"] == "column rate, row 1"


def test_kernel_paths_follow_the_cpu_flags():
    from lnpaper.tools import verify_kernels as vk

    assert vk.kernel_paths({"sse4_2"}) == ["default"]
    assert vk.kernel_paths({"avx2", "avx512f"}) == ["default", "avx2", "avx512"]
    assert vk.native_path("AVX512") == "avx512" and vk.native_path("AVX2") == "avx2"


def test_kernels_call_a_claim_fragile_when_a_path_flips_its_verdict():
    from lnpaper.tools import verify_kernels as vk

    claims = pd.read_csv(io.StringIO(CLAIMS))
    flipped = pd.read_csv(io.StringIO(CLAIMS.replace("trains,inconclusive", "trains,fails")))
    other = {
        "TrainAccLayerNorm": {"value": 0.839, "text": "0.839 ± 0.098", "se": 0.05, "decimals": 3},
        "Seed": {"value": 42.0, "text": "42", "se": None, "decimals": 0},
    }
    report = vk.sensitivity({"avx2": (claims, NUMBERS["numbers"]), "default": (flipped, other)})
    assert report["fragile_claims"] == ["c2"]
    assert [c["fragile"] for c in report["claims"]] == [False, True]
    assert {n["name"]: n["change"] for n in report["numbers"]} == {
        "Seed": "same",
        "TrainAccLayerNorm": "noise",
    }
    assert vk.lines(report) == [
        "claim c2: fragile across kernel paths (avx2 inconclusive, default fails)"
    ]
