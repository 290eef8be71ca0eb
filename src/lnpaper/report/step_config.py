"""What a table, figure or claims step is given of the config: the sections of the experiments
it reads, each under its experiment's name, and the globals it uses (seed, language), by name.

Sections are never merged into one flat dict (two experiments' ``eps`` or ``n_seeds`` would
collide), and a global is never looked up with a default: a step built without ``seed`` fails
here instead of drawing its bootstrap intervals from seed 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lnpaper.pipeline import registry

GLOBALS = ("language", "seed")


def params_for(config: Mapping, sources) -> dict:
    """The rule params of a step reading the experiment outputs ``sources`` ("matmul/growth",
    ...): plain values, so Snakemake can hash them and the manifest can record them."""
    experiments = {registry.experiment_of(s): config[registry.experiment_of(s)] for s in sources}
    return {"experiments": experiments, **{g: config[g] for g in GLOBALS}}


@dataclass(frozen=True)
class StepConfig:
    """A step's config slice: ``experiments`` (experiment -> its config section), ``seed`` (the
    base seed every resampling generator derives from) and ``language`` (vi | en)."""

    experiments: Mapping[str, Mapping]
    seed: int
    language: str

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an integer, got {self.seed!r}")
        if self.language not in ("vi", "en"):
            raise ValueError(f"language must be vi or en, got {self.language!r}")

    @classmethod
    def from_params(cls, params: Mapping) -> StepConfig:
        """From the rule params of ``params_for``; a missing or unknown key is an error."""
        expected = {"experiments", *GLOBALS}
        missing, unknown = sorted(expected - set(params)), sorted(set(params) - expected)
        if missing or unknown:
            raise KeyError(f"step params lack {missing}, have unknown {unknown}")
        return cls(dict(params["experiments"]), params["seed"], params["language"])

    @classmethod
    def for_sources(cls, config: Mapping, sources) -> StepConfig:
        """The slice of a validated full config for a step reading ``sources``."""
        return cls.from_params(params_for(config, sources))

    def section(self, experiment: str) -> Mapping:
        """One experiment's config section; an error if the step was not given it."""
        if experiment not in self.experiments:
            raise KeyError(
                f"this step was given the config sections {sorted(self.experiments)}, "
                f"not {experiment!r}"
            )
        return self.experiments[experiment]
