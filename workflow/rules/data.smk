# Stage 1: the seeded synthetic matrices (served by the results cache, as the experiments).


rule data:
    input:
        src=src("data.py"),
    output:
        matrices=paths.DATA,
        manifest=step_files("data")["manifest"],
    log:
        step_files("data")["log"],
    cache: "omit-software"
    conda:
        "../../environment.yml"
    params:
        **cache_params(),
        data=config["data"],
        seed=config["seed"],
    script:
        "../scripts/data.py"
