# Stage 2: one rule per experiment of the paper, each writing Parquet under results/experiments/.


rule matmul:
    input:
        src=src("matmul", "step"),
    output:
        **experiment_outputs("matmul"),
        manifest=step_files("matmul")["manifest"],
    params:
        matmul=config["matmul"],
        seed=config["seed"],
        device=config["device"],
    threads: 2
    conda:
        "../../environment.yml"
    log:
        step_files("matmul")["log"],
    benchmark:
        step_files("matmul")["benchmark"]
    script:
        "../scripts/matmul.py"


rule layernorm_stats:
    input:
        src=src("layernorm_stats", "step"),
        matrices="results/data/matrices.parquet",
    output:
        **experiment_outputs("layernorm_stats"),
        manifest=step_files("layernorm_stats")["manifest"],
    params:
        layernorm_stats=config["layernorm_stats"],
        seed=config["seed"],
    conda:
        "../../environment.yml"
    log:
        step_files("layernorm_stats")["log"],
    benchmark:
        step_files("layernorm_stats")["benchmark"]
    script:
        "../scripts/layernorm_stats.py"


rule affine:
    input:
        src=src("affine", "step"),
        matrices="results/data/matrices.parquet",
    output:
        **experiment_outputs("affine"),
        manifest=step_files("affine")["manifest"],
    params:
        affine=config["affine"],
    conda:
        "../../environment.yml"
    log:
        step_files("affine")["log"],
    benchmark:
        step_files("affine")["benchmark"]
    script:
        "../scripts/affine.py"


rule precision:
    input:
        src=src("precision", "step"),
    output:
        **experiment_outputs("precision"),
        manifest=step_files("precision")["manifest"],
    params:
        precision=config["precision"],
        seed=config["seed"],
    conda:
        "../../environment.yml"
    log:
        step_files("precision")["log"],
    benchmark:
        step_files("precision")["benchmark"]
    script:
        "../scripts/precision.py"
