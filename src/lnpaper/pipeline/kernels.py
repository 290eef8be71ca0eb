"""CPU kernel paths and replicates: the one place that names them.

A *kernel path* is the set of CPU instructions torch, MKL and OpenBLAS are held to
(``ATEN_CPU_CAPABILITY`` and the matching BLAS variables): another CPU runs other kernels, whose
rounding training amplifies the way a change of seed does.

A *replicate* is a rerun of the data and experiments beside the base build, named by the
Snakemake wildcard ``replicate`` (files under results/replicates/<name>/):

- ``seed<k>`` (config ``replicate_seeds``): the base config at seed k;
- ``kernel-<path>`` (config ``replicate_kernels``): the base seed, its jobs run with the path's
  environment variables set before torch and numpy load (workflow/scripts/experiment.py).

``parse_replicate`` turns a name into its seed and environment; nothing else parses names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# path -> the variables that hold torch, MKL and OpenBLAS to it
PATHS = {
    "default": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "OPENBLAS_CORETYPE": "Nehalem",
    },
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell",
    },
    "avx512": {
        "ATEN_CPU_CAPABILITY": "avx512",
        "MKL_ENABLE_INSTRUCTIONS": "AVX512",
        "OPENBLAS_CORETYPE": "SkylakeX",
    },
}
# path -> the /proc/cpuinfo flag a CPU needs to run it (None: every CPU)
CPU_FLAG = {"default": None, "avx2": "avx2", "avx512": "avx512f"}

SEED_PREFIX = "seed"
KERNEL_PREFIX = "kernel-"
# the wildcard's values: seed43, kernel-avx2 (Snakemake's wildcard_constraints)
REPLICATE_PATTERN = r"seed[0-9]+|kernel-[a-z0-9]+"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kernel_paths(flags: set[str] | None = None) -> list[str]:
    """The kernel paths this CPU can run, the simplest first."""
    flags = cpu_flags() if flags is None else flags
    return [p for p, flag in CPU_FLAG.items() if flag is None or flag in flags]


@dataclass(frozen=True)
class Replicate:
    """One replicate: its name (the wildcard's value), seed, kernel path (None for a seed
    replicate) and the environment its jobs run with ({} for a seed replicate)."""

    name: str
    seed: int
    kernel: str | None = None
    env: dict = field(default_factory=dict, compare=False)  # follows from ``kernel``


def seed_replicate(seed: int) -> str:
    """43 -> "seed43"."""
    return f"{SEED_PREFIX}{int(seed)}"


def kernel_replicate(path: str) -> str:
    """ "avx2" -> "kernel-avx2"."""
    return f"{KERNEL_PREFIX}{path}"


def parse_replicate(name: str, base_seed: int) -> Replicate:
    """A replicate's name -> its seed and environment: "seed43" reruns at seed 43 with this
    machine's kernels, "kernel-avx2" at the base seed with the avx2 path's variables."""
    if name.startswith(KERNEL_PREFIX):
        path = name.removeprefix(KERNEL_PREFIX)
        if path not in PATHS:
            raise ValueError(f"replicate {name}: unknown kernel path; allowed: {', '.join(PATHS)}")
        return Replicate(name, int(base_seed), path, dict(PATHS[path]))
    digits = name.removeprefix(SEED_PREFIX)
    if name.startswith(SEED_PREFIX) and digits.isdigit():
        return Replicate(name, int(digits))
    raise ValueError(f"replicate {name}: allowed: seed<k> or {KERNEL_PREFIX}<path>")


def replicates(cfg: dict) -> list[str]:
    """The config's replicates, seeds first (config order), then kernel paths."""
    return [seed_replicate(s) for s in cfg.get("replicate_seeds", [])] + [
        kernel_replicate(p) for p in cfg.get("replicate_kernels", [])
    ]


def kernels_problem(names: list[str], available: list[str]) -> str | None:
    """Why a ``replicate_kernels`` list cannot run on a CPU offering ``available`` (one line),
    or None."""
    for i, name in enumerate(names):
        if name not in PATHS:
            return f'replicate_kernels[{i}]: got "{name}"; allowed: one of {", ".join(PATHS)}'
        if name not in available:
            return (
                f"replicate_kernels[{i}]: got {name}, which this CPU cannot run; "
                f"this CPU's kernel paths: {', '.join(available)}"
            )
    return None
