"""``lnpaper verify`` end to end: the tiny build's bundle.zip is rebuilt from its own source in a
fresh folder and certified: every science file identical, every quoted number and verdict the
same (the same machine and kernels), progress shown while it rebuilds."""

from __future__ import annotations

import json

from lnpaper.tools.cli import main


def test_an_untouched_tiny_bundle_verifies(tiny_build, tmp_path, capsys):
    work, _ = tiny_build
    bundle = work / "results/manuscript/bundle.zip"
    out = tmp_path / "verification"
    rc = main(["verify", str(bundle), "--reuse-venv", "--cores", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err[-3000:]
    assert "steps" in captured.err and "rebuild:" in captured.err  # progress as it goes
    cert = json.loads((out / "certificate.json").read_text(encoding="utf-8"))
    assert cert["verdict"] == "pass" and cert["scope"] == "paper" and cert["same_kernels"]
    assert cert["disagreements"] == []
    assert len(cert["science"]) >= 10 and all(r["identical"] for r in cert["science"])
    assert len(cert["numbers"]) >= 50 and all(r["agrees"] for r in cert["numbers"])
    assert len(cert["claims"]) >= 10 and all(r["bundle"] == r["rebuild"] for r in cert["claims"])
    for side in ("bundle", "rebuild"):
        machine = cert["machines"][side]
        assert machine["cpu"] and machine["cores"] >= 1 and machine["versions"]["torch"]
    assert "PASS" in (out / "certificate.html").read_text(encoding="utf-8")


def test_kernels_list_each_claim_as_stable_or_fragile(lean_build, tmp_path, capsys):
    """``--kernels`` on the lean config: the bundle stands for this CPU's own kernel path, every
    other path is rebuilt, and each claim is listed as stable or fragile across them. The lean
    bundle (every kind of job, 12 claims) rebuilds in half the tiny one's CPU time; the rebuild
    of the tiny bundle, training and Transformer included, is the test above."""
    from lnpaper.tools.verify_kernels import kernel_paths

    work, _ = lean_build
    bundle = work / "results/manuscript/bundle.zip"
    out = tmp_path / "kernels"
    argv = ["verify", str(bundle), "--kernels", "--reuse-venv", "--cores", "2", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err[-3000:]
    cert = json.loads((out / "certificate.json").read_text(encoding="utf-8"))
    report = cert["kernels"]
    assert report["paths"] == kernel_paths() and len(report["paths"]) >= 2
    assert len(report["claims"]) >= 10
    for claim in report["claims"]:
        assert set(claim["verdicts"]) == set(report["paths"])
        assert claim["fragile"] == (len(set(claim["verdicts"].values())) > 1)
    page = (out / "certificate.html").read_text(encoding="utf-8")
    assert "Claims across CPU kernel paths" in page and "stable" in page
