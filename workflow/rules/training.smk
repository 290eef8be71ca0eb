# Stage 2 (cont.): training and normalizer comparisons (paper 4.1.4, 6.2, 6.3). `training` runs
# as one job per dataset (the 2-core budget: they run side by side), joined by rule training.


rule training_part:
    input:
        src=src("training_part.py"),
    output:
        **{
            name: paths.training_part_file("{dataset}", name)
            for name in registry.EXPERIMENTS["training"]
        },
        manifest=paths.manifest_file("training_part_{dataset}"),
    log:
        paths.log_file("training_part_{dataset}"),
    benchmark:
        paths.benchmark_file("training_part_{dataset}")
    conda:
        "../../environment.yml"
    threads: 1
    params:
        training=config["training"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/training_part.py"


rule training:
    input:
        flat_files(training_merge_files),
        src=src("training.py"),
    output:
        **experiment_outputs("training"),
        manifest=step_files("training")["manifest"],
    log:
        step_files("training")["log"],
    benchmark:
        step_files("training")["benchmark"]
    conda:
        "../../environment.yml"
    params:
        training=config["training"],
        seed=config["seed"],
        device=config["device"],
        files=training_merge_files,
    script:
        "../scripts/training.py"


rule batch_dependence:
    input:
        flat_files(no_files),
        src=src("batch_dependence.py"),
    output:
        **experiment_outputs("batch_dependence"),
        manifest=step_files("batch_dependence")["manifest"],
    log:
        step_files("batch_dependence")["log"],
    benchmark:
        step_files("batch_dependence")["benchmark"]
    conda:
        "../../environment.yml"
    threads: 1
    params:
        batch_dependence=config["batch_dependence"],
        seed=config["seed"],
        files=no_files,
    script:
        "../scripts/batch_dependence.py"


rule transformer:
    input:
        flat_files(no_files),
        src=src("transformer.py"),
    output:
        **experiment_outputs("transformer"),
        manifest=step_files("transformer")["manifest"],
    log:
        step_files("transformer")["log"],
    benchmark:
        step_files("transformer")["benchmark"]
    conda:
        "../../environment.yml"
    threads: 1
    params:
        transformer=config["transformer"],
        seed=config["seed"],
        device=config["device"],
        files=no_files,
    script:
        "../scripts/transformer.py"
