"""make gpu-check: the comparison it prints, and its answer on a machine without CUDA."""

from __future__ import annotations

from lnpaper.tools import gpu_check


def test_without_cuda_it_says_so_and_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(gpu_check, "cuda_status", lambda: "torch sees no CUDA device")
    assert gpu_check.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gpu-check: no CUDA here, nothing compared: torch sees no CUDA device")


def test_cpu_against_cpu_passes_every_row(capsys):
    assert gpu_check.main(["--devices", "cpu", "cpu", "--only", "affine"]) == 0
    out = capsys.readouterr().out
    assert "| affine | max_abs_mean_error |" in out and "| affine | stats: rows, columns |" in out
    assert "FAIL" not in out and out.rstrip().endswith("rows within tolerance")


def test_tolerances_catch_a_disagreement():
    assert gpu_check.metric_ok("max_abs_rate_error", 0.02, 0.05)[0]
    assert not gpu_check.metric_ok("max_abs_rate_error", 0.02, 0.5)[0]
    assert not gpu_check.metric_ok("conditions", 3.0, 4.0)[0]
    assert gpu_check.metric_ok("max_error.float16.torch", 1e-3, 4e-3)[0]
    assert not gpu_check.metric_ok("max_error.float16.torch", 1e-3, 1e-1)[0]
    assert not gpu_check.metric_ok("max_abs_r_error", float("nan"), 0.1)[0]
    frames = {"affine": {"frames": {}, "metrics": {"max_abs_mean_error": 0.0}}}
    bad = {"affine": {"frames": {}, "metrics": {"max_abs_mean_error": 1.0}}}
    rows = gpu_check.compare(frames, bad)
    assert rows[0][-1] is False and "FAIL" in gpu_check.table(rows, ("cpu", "cuda"))
