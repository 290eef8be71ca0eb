"""The declaration of an experiment: everything the pipeline needs to wire, size and track it.

Each experiment ``<id>`` has its computation in ``lnpaper/experiments/<id>.py`` (the uniform
interface ``run(cfg, *, seed, inputs, device, progress)``, ``summary_metrics(frames)`` and,
optionally, ``CONDITIONS``) and its declaration next to it in ``<id>_spec.py``
(``EXPERIMENT = Experiment(...)``). The declaration is a separate, light module because the
Snakefile reads every declaration when it starts: importing the computations would import torch
(about 4 s) at each start and in each report job.

The Snakemake rules (``workflow/rules/experiments.smk``), the start-up checks
(``lnpaper.pipeline.preflight``, ``lnpaper.pipeline.config``), the benchmark's compute-only replay
(``lnpaper.tools.bench``) and tracking read these declarations, through the one list of
declaration modules in ``lnpaper.pipeline.registry``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

# Python + torch + pandas + pyarrow imported: the measured resident memory of any step's process
PROCESS_BASE_BYTES = 400 * 2**20
FRAME_ROW_BYTES = 200  # a long-format row (about 9 columns) in pandas, with one concat copy

Check = Callable[[dict], "str | None"]


def at_most(**maxima) -> dict:
    """``tiny_ranges`` entries capping numbers: at_most(steps=12) -> {"steps": {"maximum": 12}}."""
    return {key: {"maximum": value} for key, value in maxima.items()}


def no_cpu(cfg: dict) -> float:
    """An experiment whose compute is negligible next to a job's start-up."""
    return 0.0


def no_memory(cfg: dict, data_entries: int) -> int:
    return 0


UNIT_SEPARATOR = "-"  # joins a unit's values: ("digits", "layernorm") -> "digits-layernorm"


@dataclass(frozen=True)
class Split:
    """An experiment run as one job per unit (rule ``<id>_part``, wildcard ``wildcard``), joined
    by rule ``<id>`` with the function ``join`` of ``join_module`` (a list of the parts' frames ->
    the experiment's frames).

    ``key`` names the config list the units come from, or a tuple of lists: a unit is then one
    combination of their values, named by the values joined with ``-`` (``("datasets", "norms")``
    -> ``digits-layernorm``, ...), in the order of the lists. The join module also gives the
    whole's ``summary_metrics`` and ``CONDITIONS``; it defaults to the experiment's module, and
    one that does not import torch lets the join job start in a fraction of a second."""

    key: str | tuple[str, ...]  # the config list(s) the units come from, e.g. "datasets"
    wildcard: str  # the rule's wildcard, e.g. "dataset"
    join: str = "merge"
    join_module: str | None = None  # "lnpaper.experiments.<name>"; None: the experiment's

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,) if isinstance(self.key, str) else tuple(self.key)

    def units(self, cfg: dict) -> list[str]:
        lists = [[str(v) for v in cfg.get(key, [])] for key in self.keys]
        return [UNIT_SEPARATOR.join(combo) for combo in itertools.product(*lists)]

    def slice(self, cfg: dict, unit: str) -> dict:
        """The config of one unit's job: each of its lists cut to the unit's value."""
        values = unit.split(UNIT_SEPARATOR)
        if len(values) != len(self.keys):
            raise ValueError(f"unit {unit!r} does not name one value of each of {self.keys}")
        out = dict(cfg)
        for key, value in zip(self.keys, values):
            picked = [v for v in cfg.get(key, []) if str(v) == value]
            if not picked:
                raise ValueError(f"unit {unit!r}: {value!r} is not in {key} {cfg.get(key)}")
            out[key] = picked[:1]
        return out


@dataclass(frozen=True)
class ConfigSpace:
    """How the config-space tests explore one experiment's section."""

    # the property tests (lnpaper.tools.config_space): section key -> schema keywords that
    # replace the schema's to cap its size (``items.*`` for a list's items)
    tiny_ranges: dict = field(default_factory=dict)
    # the section's values in the micro config drawn configs start from
    micro: dict = field(default_factory=dict)
    # named variations of the tiny config that exercise its section (``config_sweep``)
    edge_cases: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """One experiment of the paper, as the pipeline sees it.

    ``cpu_seconds(slice)`` estimates its compute beyond a job's start-up (summed over its jobs);
    ``memory_bytes(slice, data_entries)`` the peak memory of its largest job above the process
    base (``data_entries``: values in the data matrices, for an experiment that reads them);
    ``checks`` take the whole validated config and return an error line or None.
    """

    id: str
    outputs: tuple[str, ...]
    reads: tuple[str, ...] = ()  # pipeline files it reads, by name: "matrices" (the data step's)
    threads: int = 1
    uses_device: bool = False  # gets the config's ``device`` (torch work that can use a GPU)
    split: Split | None = None
    cpu_seconds: Callable[[dict], float] = no_cpu
    memory_bytes: Callable[[dict, int], int] = no_memory
    checks: tuple[Check, ...] = field(default_factory=tuple)
    space: ConfigSpace = field(default_factory=lambda: ConfigSpace())

    @property
    def tiny_ranges(self) -> dict:
        return self.space.tiny_ranges

    @property
    def micro(self) -> dict:
        return self.space.micro

    @property
    def edge_cases(self) -> dict:
        return self.space.edge_cases

    @property
    def section(self) -> str:
        """Its config section (and params key): the experiment's id."""
        return self.id

    @property
    def module(self) -> str:
        """The module that computes it."""
        return f"lnpaper.experiments.{self.id}"

    @property
    def join_module(self) -> str:
        """The module whose ``join``, ``summary_metrics`` and ``CONDITIONS`` the join runs."""
        return (self.split.join_module if self.split else None) or self.module

    @property
    def job_rule(self) -> str:
        """The rule that runs its computation: ``<id>``, or ``<id>_part`` when split."""
        return f"{self.id}_part" if self.split else self.id

    def part_step(self, unit: str) -> str:
        """The step name (manifest, log, benchmark) of a split experiment's job for one unit;
        ``unit`` may be the wildcard pattern, e.g. ``{dataset}``."""
        return f"{self.job_rule}_{unit}"

    def job_steps(self, cfg: dict) -> list[str]:
        """The step names (manifests, logs) of its compute jobs under its config slice."""
        if not self.split:
            return [self.id]
        return [self.part_step(u) for u in self.split.units(cfg)]

    def jobs(self, cfg: dict) -> int:
        """Snakemake jobs it runs under its config slice: its parts and the join, or one."""
        return len(self.job_steps(cfg)) + (1 if self.split else 0)

    def peak_bytes(self, cfg: dict, data_entries: int = 0) -> int:
        return PROCESS_BASE_BYTES + int(self.memory_bytes(cfg, data_entries))


def enabled_section(cfg: dict, section: str) -> dict:
    """A section's values when the experiment is on, else {} (checks of what it would measure)."""
    sec = cfg.get(section, {})
    return sec if sec.get("enabled", True) else {}


def shape_not_generated(cfg: dict, wanted: list[tuple[str, str]]) -> str | None:
    """An error line for the first (key, shape) the data step does not generate, else None."""
    have = cfg.get("data", {}).get("shapes", [])
    for key, shape in wanted:
        if shape not in have:
            return f"{key}: shape {shape} is not generated; allowed: one of data.shapes {have}"
    return None


def width_not_divided(section: str, sec: dict) -> str | None:
    """GroupNorm's groups must divide the layer width."""
    if "groupnorm_groups" in sec and "width" in sec and sec["width"] % sec["groupnorm_groups"]:
        return (
            f"{section}.groupnorm_groups: got {sec['groupnorm_groups']}; allowed: a divisor "
            f"of {section}.width ({sec['width']})"
        )
    return None
