"""The results cache's additions to Snakemake's: the software digest every cached rule carries
(a changed version or CPU kernel level changes it), the cache folder check, and the guard that
seals entries when stored and drops a damaged one before it is used."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lnpaper.pipeline import cache

AVX512 = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nflags\t\t: fpu avx2 fma avx512f avx512bw avx512vl avx512dq\n\nprocessor\t: 1\n"
AVX2 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nflags\t\t: fpu avx2 fma\n"


def test_the_cpu_kernel_level_follows_the_flags_and_the_overrides():
    assert cache.cpu_kernels(AVX512, {}) == "avx512;GenuineIntel,6,85;"
    assert cache.cpu_kernels(AVX2, {}) == "avx2;AuthenticAMD,25,1;"
    assert cache.cpu_kernels("flags\t: fpu sse2\n", {}).startswith("default;")
    forced = cache.cpu_kernels(AVX512, {"ATEN_CPU_CAPABILITY": "avx2", "HOME": "/x"})
    assert forced == "avx512;GenuineIntel,6,85;ATEN_CPU_CAPABILITY=avx2"


def test_the_torch_build_is_read_without_importing_torch():
    build = cache.torch_build()
    assert ";cuda=" in build and ";git=" in build
    assert build.split(";")[0][0].isdigit()
    assert cache.resolved_device("cpu") == "cpu"
    code = (
        "import sys\nfrom lnpaper.pipeline.cache import software_digest\n"
        "print(len(software_digest('auto')), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["64", "False"]


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.setattr(cache, "distributions", lambda: ["numpy-2.0.0", "torch-2.13.1"]),
        lambda m: m.setattr(cache, "cpu_kernels", lambda: "avx512;GenuineIntel,6,85;"),
        lambda m: m.setattr(cache, "torch_build", lambda: "2.13.0+cu121;cuda=12.1;hip=None;git=x"),
    ],
    ids=["a-version", "cpu-kernels", "torch-build"],
)
def test_a_software_change_changes_the_digest(monkeypatch, change):
    monkeypatch.setattr(cache, "distributions", lambda: ["numpy-2.0.0", "torch-2.13.0"])
    monkeypatch.setattr(cache, "cpu_kernels", lambda: "avx2;AuthenticAMD,25,1;")
    monkeypatch.setattr(cache, "torch_build", lambda: "2.13.0+cpu;cuda=None;hip=None;git=x")
    cache.software_digest.cache_clear()
    before = cache.software_digest("cpu")
    cache.software_digest.cache_clear()
    assert cache.software_digest("cpu") == before  # the same software, the same digest
    change(monkeypatch)
    cache.software_digest.cache_clear()
    assert cache.software_digest("cpu") != before
    cache.software_digest.cache_clear()


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    assert cache.cache_problem(tmp_path / "new" / "cache") is None
    assert (tmp_path / "new" / "cache").is_dir()
    problem = cache.cache_problem(tmp_path / "file" / "cache")
    assert problem.startswith(f"cannot create {tmp_path / 'file' / 'cache'}")


def _entry(folder: Path, name: str, data: bytes) -> Path:
    tmp = folder / "tmp" / name
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data)
    return tmp


def test_a_sealed_entry_is_read_only_and_a_changed_one_is_dropped(tmp_path):
    tmp = _entry(tmp_path, "abc_summary.parquet", b"result bytes")
    final = tmp_path / "abc_summary.parquet"
    cache.seal(tmp, final)
    tmp.rename(final)
    assert stat.S_IMODE(final.stat().st_mode) == cache.READ_ONLY
    assert cache.intact(final) and not cache.drop_damaged(final, log=lambda m: None)
    final.chmod(0o644)
    final.write_bytes(b"result bytez")
    lines = []
    assert cache.drop_damaged(final, log=lines.append)
    assert not final.exists() and not cache.digest_path(final).exists()
    assert lines == [
        "cache: entry abc_summary.parquet does not match its recorded digest; it is recomputed"
    ]


def test_an_entry_without_its_digest_is_not_used(tmp_path):
    entry = tmp_path / "abc_summary.parquet"
    entry.write_bytes(b"stored by something else")
    assert cache.drop_damaged(entry, log=lambda m: None) and not entry.exists()


def test_the_guard_seals_what_snakemake_stores_and_checks_what_it_looks_up(tmp_path):
    class FakeCache:  # the two methods of Snakemake's local cache the guard wraps
        path = tmp_path

        def set_permissions(self, entry):
            Path(entry).chmod(0o666)

        async def get_outputfiles_and_cachefiles(self, job):
            return [(Path("results/x.parquet"), tmp_path / "h_x.parquet")]

    cache.guard(FakeCache, log=lambda m: None)
    cache.guard(FakeCache, log=lambda m: None)  # once only
    store = FakeCache()
    tmp = _entry(tmp_path, "h_x.parquet", b"bytes")
    store.set_permissions(tmp)  # as Snakemake's store does before moving it in
    tmp.rename(tmp_path / "h_x.parquet")
    job = SimpleNamespace(rule=SimpleNamespace(name="toy"))
    pairs = asyncio.run(store.get_outputfiles_and_cachefiles(job))
    assert pairs[0][1].exists() and cache.intact(pairs[0][1])
    assert stat.S_IMODE(pairs[0][1].stat().st_mode) == cache.READ_ONLY
    (tmp_path / "h_x.parquet").chmod(0o644)
    (tmp_path / "h_x.parquet").write_bytes(b"other")
    pairs = asyncio.run(store.get_outputfiles_and_cachefiles(job))
    assert not pairs[0][1].exists()  # Snakemake's lookup then misses and the job runs
