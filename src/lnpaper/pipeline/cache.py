"""What the between-checkout results cache needs that Snakemake's own cache does not give: a
digest of the software a result depends on, and a guard that keeps the shared entries intact.

Snakemake's between-workflow output cache (rules with ``cache:``, ``snakemake --cache``, the
folder ``$SNAKEMAKE_OUTPUT_CACHE``) names an entry by a hash of the rule's script, params, input
files and upstream jobs, and stores and looks up the entries itself. Without conda or containers
it hashes no software, so each cached rule gets the param ``software``: ``software_digest``, a
digest of everything besides the code that can change a result's bytes (the installed
distributions and their versions, Python, the machine, torch's build, the device the config
resolves to, the CPU kernels torch and the BLAS pick). The same commit gives different matmul
and training bytes on CPUs with different kernels, so entries of two such machines never mix.

Snakemake leaves its entries writable by everyone and links ``results/`` to them. ``guard``
makes every entry read-only as it is stored, records its sha256 beside it
(``<entry>.sha256``), and checks it before an entry is used: a damaged or changed entry is a
cache miss (the job runs and stores a good entry again), never an input.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import platform
import re
import stat
import sys
from pathlib import Path

ENV = "SNAKEMAKE_OUTPUT_CACHE"
DIGEST_SUFFIX = ".sha256"
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
# environment variables that change which CPU kernels torch, MKL and OpenBLAS run
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "OPENBLAS_CORETYPE", "MKL_CBWR")


def distributions() -> list[str]:
    """``name-version`` of every installed distribution, sorted: the names of the ``.dist-info``
    folders on ``sys.path`` (a folder listing, not a read of every distribution's metadata)."""
    found = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found.update(n.rsplit(".", 1)[0].lower() for n in names if n.endswith(".dist-info"))
    return sorted(found)


def torch_build() -> str:
    """torch's version, CUDA/ROCm and git build, read from its version file (torch is not
    imported): ``2.13.0+cpu;cuda=None;hip=None;git=cf30...``."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return "absent"
    path = Path(list(spec.submodule_search_locations)[0]) / "version.py"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    values = dict(re.findall(r"(?m)^(\w+)\b[^=\n]*=\s*(.+?)\s*$", text))
    strip = lambda k: values.get(k, "None").strip("'\"")  # noqa: E731
    return (
        f"{strip('__version__')};cuda={strip('cuda')};hip={strip('hip')};git={strip('git_version')}"
    )


def blas_libraries() -> list[str]:
    """The BLAS and OpenMP libraries numpy and torch ship (their file names carry the build)."""
    names = []
    for package, folder in (("numpy", "../numpy.libs"), ("torch", "lib")):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        lib = Path(list(spec.submodule_search_locations)[0]) / folder
        if lib.is_dir():
            names += [
                f"{package}:{p.name}"
                for p in lib.iterdir()
                if any(k in p.name.lower() for k in ("blas", "mkl", "gomp", "iomp", "lapack"))
            ]
    return sorted(names)


def cpu_kernels(cpuinfo: str | None = None, env: dict | None = None) -> str:
    """The CPU kernel level torch's dispatch picks (avx512, avx2 or default) from the CPU flags,
    the CPU's vendor, family and model (OpenBLAS picks its core type from them), and the
    environment variables that override either."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    env = os.environ if env is None else env
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the first processor describes them all
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        level = "avx512"
    elif {"avx2", "fma"} <= flags:
        level = "avx2"
    else:
        level = "default"
    ident = ",".join(fields.get(k, "") for k in ("vendor_id", "cpu family", "model"))
    overrides = ",".join(f"{k}={env[k]}" for k in KERNEL_ENV if env.get(k))
    return f"{level};{ident};{overrides}"


def resolved_device(device: str) -> str:
    """The device a config's ``device`` resolves to, without importing torch: ``auto`` is cuda
    where torch is a CUDA build and the NVIDIA driver is loaded; a GPU is named by its model."""
    build = torch_build()
    if device == "auto":
        cuda_build = ";cuda=None;" not in build and ";cuda=" in build
        device = "cuda" if cuda_build and Path("/proc/driver/nvidia").exists() else "cpu"
    if device == "cuda":
        models = sorted(
            line.split(":", 1)[1].strip()
            for info in Path("/proc/driver/nvidia/gpus").glob("*/information")
            for line in info.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.startswith("Model:")
        )
        return "cuda:" + ",".join(models)
    return device


def describe_software(device: str) -> dict:
    """Everything the digest covers, by name (what ``software_digest`` hashes)."""
    return {
        "distributions": distributions(),
        "python": sys.version,
        "machine": platform.machine(),
        "torch": torch_build(),
        "device": resolved_device(device),
        "cpu_kernels": cpu_kernels(),
        "blas": blas_libraries(),
    }


@functools.cache
def software_digest(device: str) -> str:
    """sha256 of ``describe_software(device)``: the ``software`` param of every cached rule."""
    text = repr(sorted(describe_software(device).items()))
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- the cache folder


def cache_problem(folder: str | Path) -> str | None:
    """Why the cache folder cannot be used (one line), or None; it is created when missing."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"cannot create {path} ({err.strerror})"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def digest_path(entry: str | Path) -> Path:
    return Path(f"{entry}{DIGEST_SUFFIX}")


def seal(entry: Path, final: Path) -> None:
    """Make an entry (stored next at ``final``) read-only and record its digest beside
    ``final``; written to a temporary name first, so a reader never sees half a digest."""
    os.chmod(entry, READ_ONLY)
    record = digest_path(final)
    tmp = record.with_name(f".{record.name}.{os.getpid()}")
    tmp.write_text(file_sha256(entry) + "\n", encoding="utf-8")
    os.replace(tmp, record)


def intact(entry: str | Path) -> bool:
    """An entry is used only when its recorded digest matches its bytes."""
    record = digest_path(entry)
    try:
        return record.read_text(encoding="utf-8").strip() == file_sha256(entry)
    except OSError:
        return False


def drop_damaged(entry: Path, log=print) -> bool:
    """Remove an entry whose bytes no longer match its digest (and the digest): Snakemake then
    sees a miss, runs the job and stores a good entry. True when it was damaged."""
    if not entry.exists() or intact(entry):
        return False
    log(f"cache: entry {entry.name} does not match its recorded digest; it is recomputed")
    for path in (entry, digest_path(entry)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return True


def guard(cache_class, log=print) -> None:
    """Wrap Snakemake's local output cache class: entries sealed when stored, checked before
    every lookup (a damaged one is dropped, so the lookup misses)."""
    if getattr(cache_class, "_lnpaper_guarded", False):
        return
    set_permissions = cache_class.set_permissions
    get_pairs = cache_class.get_outputfiles_and_cachefiles

    def sealing(self, entry):
        set_permissions(self, entry)
        if Path(entry).is_file():
            seal(Path(entry), Path(self.path) / Path(entry).name)

    async def checked(self, job):
        pairs = await get_pairs(self, job)
        for _, entry in pairs:
            drop_damaged(Path(entry), log)
        return pairs

    cache_class.set_permissions = sealing
    cache_class.get_outputfiles_and_cachefiles = checked
    cache_class._lnpaper_guarded = True


def cache_off_reason(env) -> str | None:
    """Why ``snakemake --cache`` cannot cache here (one line for the build's output), or None."""
    folder = env.get(ENV)
    if not folder:
        return f"{ENV} is not set"
    return cache_problem(folder)
