"""The compute environment the paper states, ``{{env:Name}}``: read from the build's machine
record (``reproduce.machine_record``, the record bundle.zip ships as reproduce/machine.json), so
the statement and the record are the same values. Nothing names the host, a user or a path.
"""

from __future__ import annotations

import re

ENV = re.compile(r"\{\{env:([A-Za-z]+)\}\}")

# name -> how to read it from the machine record
FIELDS = {
    "EnvCpu": lambda r: r["cpu"],
    "EnvCores": lambda r: str(r["cores"]),
    "EnvOs": lambda r: str(r["os"]).split()[0],  # the system's name, not its release
    "EnvArch": lambda r: r["machine"],
    "EnvCpuCapability": lambda r: r["torch_cpu_capability"],
}
# the libraries of the record's versions (provenance.TRACKED_PACKAGES, and Python)
PACKAGES = {
    "EnvPython": "python",
    "EnvTorch": "torch",
    "EnvNumpy": "numpy",
    "EnvScipy": "scipy",
    "EnvPandas": "pandas",
    "EnvPyarrow": "pyarrow",
    "EnvSklearn": "scikit-learn",
    "EnvMatplotlib": "matplotlib",
    "EnvSnakemake": "snakemake",
    "EnvMlflow": "mlflow",
}
NAMES = frozenset([*FIELDS, *PACKAGES])


def env_value(name: str, record: dict) -> str:
    """One value of the machine record as the paper prints it."""
    if name in PACKAGES:
        return str(record["versions"].get(PACKAGES[name], "absent"))
    return str(FIELDS[name](record))


def fill_env(text: str, record: dict | None) -> str:
    """Every ``{{env:Name}}`` replaced by its value, as code (a version or CPU name is printed
    verbatim); the record of this machine when ``record`` is None."""
    if record is None:
        from lnpaper.manuscript.reproduce import machine_record

        record = machine_record()
    return ENV.sub(lambda m: f"`{env_value(m.group(1), record)}`", text)
