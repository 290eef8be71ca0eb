# Stage 1: the seeded synthetic matrices.


rule data:
    input:
        src=src("data", "step"),
    output:
        matrices="results/data/matrices.parquet",
        manifest=step_files("data")["manifest"],
    params:
        data=config["data"],
        seed=config["seed"],
    conda:
        "../../environment.yml"
    log:
        step_files("data")["log"],
    benchmark:
        step_files("data")["benchmark"]
    script:
        "../scripts/data.py"
