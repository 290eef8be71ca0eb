# Stage 1: the seeded synthetic matrices (served by the results cache, as the experiments); one
# copy per replicate with config replicate_seeds or replicate_kernels (common.smk: VARIANTS).


for _v in VARIANTS:

    rule:
        name:
            _v.name("data")
        input:
            src=src("data.py"),
        output:
            matrices=paths.data_file(_v.root),
            manifest=step_files("data", _v.root)["manifest"],
        log:
            step_files("data", _v.root)["log"],
        cache: "omit-software"
        conda:
            "../../environment.yml"
        params:
            **cache_params(),
            **variant_params(_v),
            data=config["data"],
        script:
            "../scripts/data.py"
