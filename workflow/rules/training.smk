# Stage 2 (cont.): training and normalizer comparisons (paper 4.1.4, 6.2, 6.3). `training` runs
# as one job per dataset (the 2-core budget: they run side by side), joined by rule training.
# Input helpers: training_part_files / training_parts in common.smk.


wildcard_constraints:
    dataset="[a-z_]+",


rule training_part:
    input:
        src=src("training", "step"),
    output:
        summary="results/experiments/training/parts/{dataset}/summary.parquet",
        curves="results/experiments/training/parts/{dataset}/curves.parquet",
        layer_grads="results/experiments/training/parts/{dataset}/layer_grads.parquet",
        manifest="results/manifests/training_part_{dataset}.json",
    params:
        training=config["training"],
        seed=config["seed"],
        device=config["device"],
    threads: 1
    conda:
        "../../environment.yml"
    log:
        "results/logs/training_part_{dataset}.log",
    benchmark:
        "results/benchmarks/training_part_{dataset}.tsv"
    script:
        "../scripts/training_part.py"


rule training:
    input:
        unpack(training_parts),
        src=src("training", "step"),
    output:
        **experiment_outputs("training"),
        manifest=step_files("training")["manifest"],
    params:
        training=config["training"],
        seed=config["seed"],
        device=config["device"],
    conda:
        "../../environment.yml"
    log:
        step_files("training")["log"],
    benchmark:
        step_files("training")["benchmark"]
    script:
        "../scripts/training.py"


rule batch_dependence:
    input:
        src=src("batch_dependence", "step"),
    output:
        **experiment_outputs("batch_dependence"),
        manifest=step_files("batch_dependence")["manifest"],
    params:
        batch_dependence=config["batch_dependence"],
        seed=config["seed"],
    threads: 1
    conda:
        "../../environment.yml"
    log:
        step_files("batch_dependence")["log"],
    benchmark:
        step_files("batch_dependence")["benchmark"]
    script:
        "../scripts/batch_dependence.py"


rule transformer:
    input:
        src=src("transformer", "step"),
    output:
        **experiment_outputs("transformer"),
        manifest=step_files("transformer")["manifest"],
    params:
        transformer=config["transformer"],
        seed=config["seed"],
        device=config["device"],
    threads: 1
    conda:
        "../../environment.yml"
    log:
        step_files("transformer")["log"],
    benchmark:
        step_files("transformer")["benchmark"]
    script:
        "../scripts/transformer.py"
