# Shared helpers: config validation (before any job), src/ dependencies, target lists.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # works without `pip install -e .` too

from lnpaper import registry
from lnpaper.config import ConfigError, validate, load_yaml
from lnpaper.deps import module_files

try:
    config = validate(config, load_yaml(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))
except ConfigError as err:
    # one line, no traceback, before any job starts or any output is touched
    print(f"config error: {err}", file=sys.stderr)
    sys.exit(1)

from lnpaper.preflight import check_results_dir, export_src_for_jobs, writes_outputs

export_src_for_jobs(workflow.basedir)  # jobs run this checkout's src/, the one rules list as input

if workflow.is_main_process and writes_outputs(sys.argv):
    # a read-only or full results/ stops the run here, with the remedy, before any job
    _problem = check_results_dir("results")
    if _problem:
        print(f"output error: {_problem}", file=sys.stderr)
        sys.exit(1)


wildcard_constraints:
    table="(?!runtime\.)[a-z_]+",  # runtime.{csv,md} come from rule runtime
    figure="[a-z_]+",


def src(*modules):
    """src/ files a rule runs (the modules and their lnpaper imports), as rule input."""
    return module_files(*modules, root=workflow.basedir)


def experiment_outputs(experiment):
    return {name: f"results/experiments/{experiment}/{name}.parquet"
            for name in registry.EXPERIMENTS[experiment]}


def step_files(step):
    """log, benchmark and manifest paths of one step."""
    return {"log": f"results/logs/{step}.log", "benchmark": f"results/benchmarks/{step}.tsv",
            "manifest": f"results/manifests/{step}.json"}


def table_inputs(wildcards):
    sources = registry.table_sources(wildcards.table, config)
    return {registry.input_key(s): registry.experiment_path(s) for s in sources}


def figure_inputs(wildcards):
    return {registry.input_key(s): registry.experiment_path(s) for s in registry.FIGURES[wildcards.figure]}


def sources_config(sources):
    """The config slices a table or figure depends on: its experiments, language and seed."""
    slices = {registry.experiment_of(s): config[registry.experiment_of(s)] for s in sources}
    return {"experiments": slices, "language": config["language"], "seed": config["seed"]}


def table_params(wildcards):
    return sources_config(registry.table_sources(wildcards.table, config))


def figure_params(wildcards):
    return sources_config(registry.FIGURES[wildcards.figure])


def step_manifests():
    """Manifests of every job in the build: what the tracking step logs."""
    steps = ["data"] + registry.enabled_experiments(config)
    if "training" in steps:  # training runs as one job per dataset (workflow/rules/training.smk)
        steps += [f"training_part_{d}" for d in config["training"]["datasets"]]
    steps += [f"table_{t}" for t in registry.enabled_tables(config)]
    steps += [f"figure_{f}" for f in registry.enabled_figures(config)]
    steps += ["numbers"]
    steps += ["runtime"]  # per-step cost table (workflow/rules/runtime.smk)
    return [step_files(s)["manifest"] for s in steps]


def runtime_inputs(wildcards):
    """Benchmark file of every step tracking logs, except the runtime step itself."""
    steps = [Path(m).stem for m in step_manifests()]
    return {f"bench__{s}": step_files(s)["benchmark"] for s in steps if s != "runtime"}


def all_targets():
    targets = ["results/data/matrices.parquet"]
    for exp in registry.enabled_experiments(config):
        targets += experiment_outputs(exp).values()
    for table in registry.enabled_tables(config):
        targets += [f"results/tables/{table}.{ext}" for ext in ("csv", "md", "tex")]
    for fig in registry.enabled_figures(config):
        targets += [f"results/figures/{fig}.{ext}" for ext in ("png", "pdf")]
    targets += ["results/tables/runtime.csv", "results/tables/runtime.md"]
    if config["mlflow"]["enabled"]:
        targets.append("results/tracking/build.json")
    targets += [f"results/manuscript/{f}" for f in MANUSCRIPT_OUTPUTS]
    return targets


# ---- manuscript (workflow/rules/manuscript.smk)
MANUSCRIPT_OUTPUTS = ["numbers.tex", "numbers.json", "paper.html", "paper.pdf", "bundle.zip"]


def numbers_inputs():
    from lnpaper import numbers

    return numbers.input_files(config)


def numbers_params():
    """The config values quoted as numbers, and which numbers this build has."""
    from lnpaper import numbers

    return {"config": numbers.config_slice(config),
            "names": [n.name for n in numbers.available(config)]}


def enabled_flags():
    """experiment -> {enabled}: enough for lnpaper.registry to tell what the build contains."""
    return {e: {"enabled": config.get(e, {}).get("enabled", True)} for e in registry.EXPERIMENTS}


def manuscript_files():
    root = Path(workflow.basedir)
    return sorted(str(p.relative_to(root)) for p in (root / "manuscript").glob("*") if p.is_file())


def manuscript_inputs():
    """Every enabled table and figure (with its manifest), and the tracking summary if any."""
    files = {}
    for t in registry.enabled_tables(config):
        files.update({f"table__{t}__{ext}": f"results/tables/{t}.{ext}" for ext in ("csv", "md", "tex")})
        files[f"table__{t}__manifest"] = step_files(f"table_{t}")["manifest"]
    for f in registry.enabled_figures(config):
        files.update({f"figure__{f}__{ext}": f"results/figures/{f}.{ext}" for ext in ("png", "pdf")})
        files[f"figure__{f}__manifest"] = step_files(f"figure_{f}")["manifest"]
    if config["mlflow"]["enabled"]:
        files["tracking"] = "results/tracking/build.json"
    return files


# ---- training (workflow/rules/training.smk): one job per dataset, joined by rule training
def training_part_files(dataset):
    base = f"results/experiments/training/parts/{dataset}"
    return {name: f"{base}/{name}.parquet" for name in registry.EXPERIMENTS["training"]}


def training_parts(wildcards):
    """Every dataset's part outputs and manifest, as inputs of the merge step."""
    inputs = {}
    for dataset in config["training"]["datasets"]:
        for name, path in training_part_files(dataset).items():
            inputs[f"{dataset}__{name}"] = path
        inputs[f"{dataset}__manifest"] = step_files(f"training_part_{dataset}")["manifest"]
    return inputs
