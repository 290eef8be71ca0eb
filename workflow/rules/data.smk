# Stage 1: the seeded synthetic matrices.


rule data:
    input:
        src=src("data.py"),
    output:
        matrices=paths.DATA,
        manifest=step_files("data")["manifest"],
    log:
        step_files("data")["log"],
    benchmark:
        step_files("data")["benchmark"]
    conda:
        "../../environment.yml"
    params:
        data=config["data"],
        seed=config["seed"],
    script:
        "../scripts/data.py"
