# Stage 2: one rule per experiment of the paper, each writing Parquet under results/experiments/.


rule matmul:
    input:
        flat_files(no_files),
        src=src("matmul.py"),
    output:
        **experiment_outputs("matmul"),
        manifest=step_files("matmul")["manifest"],
    log:
        step_files("matmul")["log"],
    benchmark:
        step_files("matmul")["benchmark"]
    conda:
        "../../environment.yml"
    threads: 2
    params:
        matmul=config["matmul"],
        seed=config["seed"],
        device=config["device"],
        files=no_files,
    script:
        "../scripts/matmul.py"


rule layernorm_stats:
    input:
        flat_files(matrices_files),
        src=src("layernorm_stats.py"),
    output:
        **experiment_outputs("layernorm_stats"),
        manifest=step_files("layernorm_stats")["manifest"],
    log:
        step_files("layernorm_stats")["log"],
    benchmark:
        step_files("layernorm_stats")["benchmark"]
    conda:
        "../../environment.yml"
    threads: 1
    params:
        layernorm_stats=config["layernorm_stats"],
        seed=config["seed"],
        files=matrices_files,
    script:
        "../scripts/layernorm_stats.py"


rule affine:
    input:
        flat_files(matrices_files),
        src=src("affine.py"),
    output:
        **experiment_outputs("affine"),
        manifest=step_files("affine")["manifest"],
    log:
        step_files("affine")["log"],
    benchmark:
        step_files("affine")["benchmark"]
    conda:
        "../../environment.yml"
    threads: 1
    params:
        affine=config["affine"],
        seed=config["seed"],
        files=matrices_files,
    script:
        "../scripts/affine.py"


rule precision:
    input:
        flat_files(no_files),
        src=src("precision.py"),
    output:
        **experiment_outputs("precision"),
        manifest=step_files("precision")["manifest"],
    log:
        step_files("precision")["log"],
    benchmark:
        step_files("precision")["benchmark"]
    conda:
        "../../environment.yml"
    threads: 1
    params:
        precision=config["precision"],
        seed=config["seed"],
        files=no_files,
    script:
        "../scripts/precision.py"
