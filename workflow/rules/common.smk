# Shared helpers: config validation (before any job), src/ dependencies, inputs and targets.
# Every results/ path comes from lnpaper.pipeline.paths; every file structure a script reads is
# passed as the params entry `files` and listed flat as input (lnpaper.pipeline.step explains).
import os
import sys
from pathlib import Path

# works without `pip install -e .` too
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from lnpaper.pipeline import paths, registry
from lnpaper.pipeline.kernels import REPLICATE_PATTERN, parse_replicate, replicates
from lnpaper.pipeline.config import ConfigError, load_yaml
from lnpaper.pipeline.validated import CACHE as VALIDATED_CACHE, validate_remembered
from lnpaper.pipeline.deps import module_files, script_files, use_cache
from lnpaper.pipeline.overrides import merge, typed_overrides
from lnpaper.pipeline.step import REPLICATE_SUFFIX, REPLICATE_WILDCARD, flat_paths
from lnpaper.pipeline.credentials import redact_argv, take_credentials
from lnpaper.report.step_config import params_for

# what each src/ file imports, parsed once per text and kept across starts (deps.py)
use_cache(paths.DEPS_CACHE)

# a tracking server's password given in the URI goes into the environment, where MLflow reads
# it; config, params, logs and digests only see the URI without it (docs/security.md)
config = take_credentials(config)
if workflow.is_main_process:
    # the command line is logged by Snakemake and stored as an MLflow tag; --config values as
    # typed are also passed on to cluster jobs (which get the credentials through the environment)
    sys.argv[:] = redact_argv(sys.argv)
    _settings = workflow.config_settings
    if isinstance(getattr(_settings, "config_args", None), list):
        _settings.config_args = redact_argv(_settings.config_args)

try:
    # --config values read as config.yaml reads them, then validated like the file
    config = merge(config, typed_overrides(workflow.config_settings.config_args))
    # checked once per config, schema and checking code (lnpaper.pipeline.validated)
    config = validate_remembered(
        config,
        load_yaml(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"),
        VALIDATED_CACHE,
        root=workflow.basedir,
    )
except ConfigError as err:
    # one line, no traceback, before any job starts or any output is touched
    print(f"config error: {err}", file=sys.stderr)
    sys.exit(1)

from lnpaper.pipeline.preflight import (
    build_summary,
    check_memory,
    check_results_dir,
    export_src_for_jobs,
    shows_estimate,
    writes_outputs,
)

# jobs run this checkout's src/, the one rules list as input
export_src_for_jobs(workflow.basedir)

from lnpaper.pipeline.inputs import InputError, acquire_build_lock, damaged_outputs

if workflow.is_main_process:
    # the manuscript's templates, captions and wording: a typo stops here with file and line
    try:
        from lnpaper.manuscript.template import check_manuscript

        check_manuscript(workflow.basedir, config["language"])
    except InputError as err:
        print(f"manuscript error: {err}", file=sys.stderr)
        sys.exit(1)

if workflow.is_main_process and writes_outputs(sys.argv):
    # one build per folder: a second one started while one runs is refused at once
    _problem = acquire_build_lock(paths.BUILD_LOCK)
    if _problem:
        print(f"build error: {_problem}", file=sys.stderr)
        sys.exit(1)
    # an intermediate file changed after its step wrote it is named, never read into a table
    _problem = damaged_outputs(paths.RESULTS)
    if _problem:
        print(f"input error: {_problem}", file=sys.stderr)
        sys.exit(1)
    # a read-only or full results/ stops the run here, with the remedy, before any job
    _problem = check_results_dir(paths.RESULTS)
    if _problem:
        print(f"output error: {_problem}", file=sys.stderr)
        sys.exit(1)
    # a step the OOM killer would end is refused here, with its estimate and the machine's memory
    _problem = check_memory(config)
    if _problem:
        print(f"memory error: {_problem}", file=sys.stderr)
        sys.exit(1)

if workflow.is_main_process and shows_estimate(sys.argv):
    print(build_summary(config), file=sys.stderr)

from lnpaper.pipeline.cache import cache_off_reason, guard, software_digest

# The results cache across checkouts (`--cache`, folder $SNAKEMAKE_OUTPUT_CACHE): Snakemake
# stores and looks up the outputs of the rules marked `cache:`; lnpaper.pipeline.cache seals
# its entries and checks them before use. A folder that cannot be used turns it off here.
if workflow.workflow_settings.cache is not None:
    _problem = cache_off_reason(os.environ)
    if _problem:
        if workflow.is_main_process:
            print(
                f"cache: off, {_problem}; the build goes on without it", file=sys.stderr
            )
        workflow.workflow_settings.cache = None
    else:
        from snakemake.caching.local import OutputFileCache

        guard(OutputFileCache)
if workflow.workflow_settings.cache is None:
    # without the cache the `cache:` rules run like any other; Snakemake's reminder of each
    # (a line per rule at every start) is left out
    workflow.check_cache_rules = lambda: None


wildcard_constraints:
    # runtime.{csv,md} and claims.{csv,md,tex} have rules of their own
    table=r"(?!(?:runtime|claims)\.)[a-z_]+",
    figure="[a-z_]+",
    # a split experiment's unit: its config values joined by "-" (lnpaper.experiments.spec)
    unit=r"[a-z0-9_]+(?:-[a-z0-9_]+)*",
    # a replicate: seed<k> or kernel-<path> (config replicate_seeds, replicate_kernels;
    # rules/replicates.smk, lnpaper.pipeline.kernels)
    replicate=REPLICATE_PATTERN,


def src(script):
    """src/ files a rule's script can run (its lnpaper imports, transitively), as rule input."""
    return script_files(
        Path(workflow.basedir) / "workflow/scripts" / script, root=workflow.basedir
    )


def flat_files(files_of):
    """Input function: the paths of a `files` structure (a function of wildcards), flat."""
    return lambda wildcards: flat_paths(files_of(wildcards))


def experiment_outputs(experiment, root=paths.RESULTS):
    return {
        name: paths.experiment_file(f"{experiment}/{name}", root)
        for name in registry.EXPERIMENTS[experiment]
    }


class Variant:
    """A copy of the data and experiment rules: the base build (rule names as declared, files
    under results/, the config's seed) or, with config ``replicate_seeds`` or
    ``replicate_kernels``, a replicate's (rule ``<name>_replicate``, files under
    results/replicates/{replicate}/, the seed and the kernel variables parsed from the wildcard
    ``replicate``: seed43, kernel-avx2). Both are generated from the same declarations: the
    scripts, params and results cache are the same, only the seed, the kernel variables and the
    folder differ. ``kernel_env`` is None for the base build (its params have no such key).
    """

    def __init__(self, suffix, root, seed, kernel_env=None):
        self.suffix, self.root, self.seed = suffix, root, seed
        self.kernel_env = kernel_env

    def name(self, rule):
        return rule + self.suffix

    def root_of(self, wildcards):
        """The folder of one job (the replicate's wildcard filled in)."""
        return self.root.format(
            **{k: v for k, v in wildcards.items() if k == REPLICATE_WILDCARD}
        )


def replicate_of(wildcards):
    """The replicate a job belongs to (its seed and kernel variables)."""
    return parse_replicate(wildcards[REPLICATE_WILDCARD], config["seed"])


BASE = Variant("", paths.RESULTS, config["seed"])
REPLICATE = Variant(
    REPLICATE_SUFFIX,
    paths.replicate_root(f"{{{REPLICATE_WILDCARD}}}"),
    lambda wildcards: replicate_of(wildcards).seed,
    # the variables are a param: the results cache keys its entries by the params, so each
    # kernel path has its own entries
    lambda wildcards: replicate_of(wildcards).env,
)
# the replicate rules exist only when replicates are asked for: the default build's rules and
# DAG are the one-seed build's
VARIANTS = [BASE, REPLICATE] if replicates(config) else [BASE]


def variant_params(variant):
    """The params a variant adds to each of its data and experiment rules: the seed, and the
    kernel variables of a replicate (none for the base build, whose params stay as they were).
    """
    params = {"seed": variant.seed}
    if variant.kernel_env is not None:
        params["kernel_env"] = variant.kernel_env
    return params


def cache_params():
    """The params each cached job gets: the digest of the software its bytes depend on."""
    return {"software": software_digest(config["device"])}


def cached_steps():
    """The steps of the rules the results cache serves (data and every experiment job): they
    time themselves into their manifest, as a cached rule may have no benchmark file."""
    steps = ["data"] + registry.enabled_experiments(config)
    for exp in registry.enabled_declarations(config):
        if exp.split:
            steps += exp.job_steps(config[exp.section])
    return steps


def step_files(step, root=paths.RESULTS):
    """log, benchmark and manifest paths of one step."""
    return {
        "log": paths.log_file(step, root),
        "benchmark": paths.benchmark_file(step, root),
        "manifest": paths.manifest_file(step, root),
    }


# the files of the pipeline an experiment may read (its declaration's ``reads``), by name
PIPELINE_FILES = {"matrices": paths.data_file}


def experiment_files(exp, variant=BASE):
    """The ``files`` of an experiment's rule: the pipeline files it declares it reads."""
    return lambda wildcards: {
        name: PIPELINE_FILES[name](variant.root_of(wildcards)) for name in exp.reads
    }


def experiment_src(exp, script):
    """src/ files the rules of an experiment can run: their adapter's imports, and the
    experiment's module and declaration (imported by name), each with its imports."""
    adapter = src(script)
    own = module_files(exp.module, f"{exp.module}_spec", root=workflow.basedir)
    return sorted(set(adapter) | set(own))


def experiment_params(exp, variant=BASE):
    """An experiment rule's params: its config section, the seed, and the device if it uses one.
    The seed keys the results cache (a replicate's seed is a param, not only a wildcard).
    """
    params = {exp.section: config[exp.section], **variant_params(variant)}
    if exp.uses_device:
        params["device"] = config["device"]
    return params


def part_outputs(exp, variant=BASE):
    """A split experiment's outputs for one unit (its wildcard left open)."""
    unit = f"{{{exp.split.wildcard}}}"
    return {
        name: paths.part_file(exp.id, unit, name, variant.root) for name in exp.outputs
    }


def part_step(exp):
    """The step name of one unit's job: its manifest, log and benchmark."""
    return exp.part_step(f"{{{exp.split.wildcard}}}")


def join_files(exp, variant=BASE):
    """Every unit's part outputs and manifest: the inputs of a split experiment's join."""

    def files(wildcards):
        units = exp.split.units(config[exp.section])
        root = variant.root_of(wildcards)
        return {
            "parts": {
                u: {n: paths.part_file(exp.id, u, n, root) for n in exp.outputs}
                for u in units
            },
            "manifests": {
                u: paths.manifest_file(exp.part_step(u), root) for u in units
            },
        }

    return files


def sources_files(sources):
    return {s: registry.experiment_path(s) for s in sources}


def sources_config(sources):
    """The config a table, figure or claims step gets: its experiments' sections, each
    under its name, plus seed and language (read by lnpaper.report.step_config)."""
    return params_for(config, sources)


def table_files(wildcards):
    return sources_files(registry.TABLES[wildcards.table])


def table_params(wildcards):
    return sources_config(registry.TABLES[wildcards.table])


def figure_files(wildcards):
    return sources_files(registry.FIGURES[wildcards.figure])


def figure_params(wildcards):
    return sources_config(registry.FIGURES[wildcards.figure])


def claims_files(wildcards):
    """The claims table's experiment outputs; with replicates, also each replicate's claims
    audit (``replicates``: name -> its claims.csv), which the table compares its verdicts with.
    """
    files = sources_files(registry.claims_sources(config))
    if replicates(config):
        files["replicates"] = {
            name: paths.table_file("claims", "csv", paths.replicate_root(name))
            for name in replicates(config)
        }
    return files


def claims_params(wildcards):
    return sources_config(registry.claims_sources(config))


def replicate_claims_files(wildcards):
    """One replicate's experiment outputs that its claims audit reads."""
    root = REPLICATE.root_of(wildcards)
    return {s: paths.experiment_file(s, root) for s in registry.claims_sources(config)}


def replicate_claims_params(wildcards):
    """The claims step's config at a replicate's seed: its bootstrap intervals draw from it."""
    return {**claims_params(wildcards), "seed": replicate_of(wildcards).seed}


def step_manifests():
    """Manifests of every job in the build: what the tracking step logs."""
    steps = ["data"] + registry.enabled_experiments(config)
    for exp in registry.enabled_declarations(config):  # a split experiment's parts
        if exp.split:
            steps += exp.job_steps(config[exp.section])
    steps += [f"table_{t}" for t in registry.enabled_tables(config)]
    steps += [f"figure_{f}" for f in registry.enabled_figures(config)]
    steps += ["numbers"]
    steps += ["runtime"]  # per-step cost table (rules/runtime.smk)
    return [paths.manifest_file(s) for s in steps]


def runtime_files(wildcards):
    """Benchmark file of every step tracking logs, except the runtime step itself; the cached
    steps' manifests (their timing) instead of benchmark files."""
    steps = [Path(m).stem for m in step_manifests()]
    cached = set(cached_steps())
    return {
        "benchmarks": {
            s: paths.benchmark_file(s)
            for s in steps
            if s != "runtime" and s not in cached
        },
        "timings": {s: paths.manifest_file(s) for s in steps if s in cached},
    }


MANUSCRIPT_OUTPUTS = [
    "numbers.tex",
    "numbers.json",
    "paper.html",
    "paper.pdf",
    "paper.docx",
    "bundle.zip",
    "arxiv.tar.gz",
]


def all_targets():
    targets = [paths.DATA]
    for exp in registry.enabled_experiments(config):
        targets += experiment_outputs(exp).values()
    for table in registry.enabled_tables(config):
        targets += [paths.table_file(table, ext) for ext in ("csv", "md", "tex")]
    for fig in registry.enabled_figures(config):
        targets += [paths.figure_file(fig, ext) for ext in ("png", "pdf")]
    targets += [paths.RUNTIME_CSV, paths.RUNTIME_MD]
    if config["mlflow"]["enabled"]:
        targets.append(paths.TRACKING_BUILD)
    targets += [paths.manuscript_file(f) for f in MANUSCRIPT_OUTPUTS]
    return targets


# ---- manuscript (rules/manuscript.smk)
def numbers_files(wildcards):
    from lnpaper.report import numbers

    return numbers.source_files(config)


def numbers_params():
    """The config values quoted as numbers, and which numbers this build has."""
    from lnpaper.report import numbers

    return {
        "config": numbers.config_slice(config),
        "names": [n.name for n in numbers.in_build(config)],
    }


def enabled_flags():
    """experiment -> {enabled, ...}: enough for lnpaper.pipeline.registry to tell what is
    built, and the config values the manuscript's {{list:...}} sets print."""
    from lnpaper.manuscript.conditions import manuscript_config

    return manuscript_config(config, registry.EXPERIMENTS)


def manuscript_text_files():
    root = Path(workflow.basedir)
    return sorted(
        str(p.relative_to(root)) for p in (root / "manuscript").glob("*") if p.is_file()
    )


def manuscript_files(wildcards):
    """Every enabled table and figure (with its manifest), the template, numbers, tracking."""
    tables = {
        t: {
            **{ext: paths.table_file(t, ext) for ext in ("csv", "md", "tex")},
            "manifest": paths.manifest_file(f"table_{t}"),
        }
        for t in registry.enabled_tables(config)
    }
    figures = {
        f: {
            **{ext: paths.figure_file(f, ext) for ext in ("png", "pdf")},
            "manifest": paths.manifest_file(f"figure_{f}"),
        }
        for f in registry.enabled_figures(config)
    }
    files = {
        "tables": tables,
        "figures": figures,
        "template": f"manuscript/paper.{config['language']}.md",
        "captions": "manuscript/captions.yaml",
        "latex_template": "manuscript/arxiv.tex",
        "front_matter": f"manuscript/front.{config['language']}.yaml",
        "references": "manuscript/references.bib",
        "numbers": paths.manuscript_file("numbers.parquet"),
        "numbers_tex": paths.manuscript_file("numbers.tex"),
        # the steps quoted numbers come from: their config hash goes into each number's title
        "manifests": {
            s: paths.manifest_file(s)
            for s in ["numbers", *registry.enabled_experiments(config)]
        },
    }
    if config["mlflow"]["enabled"]:
        files["tracking"] = paths.TRACKING_BUILD
    # bundle.zip carries the science files and the lock file (manuscript/reproduce.py)
    files["science"] = {
        f"{e}/{o}": paths.experiment_file(f"{e}/{o}")
        for e in registry.enabled_experiments(config)
        for o in registry.EXPERIMENTS[e]
    }
    if (Path(workflow.basedir) / "requirements.lock").is_file():
        files["lock"] = "requirements.lock"
    return files


def bundle_config():
    """The resolved config as bundle.zip records it: the tracking URI without credentials."""
    from lnpaper.pipeline.credentials import public_config

    return public_config(config)
