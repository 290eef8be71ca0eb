# Stage 2: the experiments of the paper, each writing Parquet under results/experiments/. The
# rules are generated from the experiments' declarations (lnpaper/experiments/<id>_spec.py, listed
# in lnpaper.pipeline.registry): one rule `<id>` per experiment; a split experiment runs one job
# per unit (rule `<id>_part`, e.g. training_part per dataset and normalizer) joined by rule `<id>`.
# Every rule here is served by the results cache (`cache:`, common.smk): no `benchmark:` (Snakemake
# refuses both on one rule), the job times itself into its manifest.

# With config replicate_seeds or replicate_kernels, each rule has a copy per replicate
# (`<rule>_replicate`, wildcard `replicate`: seed<k> or kernel-<path>, files under
# results/replicates/<replicate>/; common.smk: VARIANTS).


for _v in VARIANTS:
    for _exp in registry.DECLARATIONS.values():
        if not _exp.split:

            rule:
                name:
                    _v.name(_exp.id)
                input:
                    flat_files(experiment_files(_exp, _v)),
                    src=experiment_src(_exp, "experiment.py"),
                output:
                    **experiment_outputs(_exp.id, _v.root),
                    manifest=step_files(_exp.id, _v.root)["manifest"],
                log:
                    step_files(_exp.id, _v.root)["log"],
                cache: "omit-software"
                conda:
                    "../../environment.yml"
                threads: _exp.threads
                params:
                    **experiment_params(_exp, _v),
                    **cache_params(),
                    files=experiment_files(_exp, _v),
                script:
                    "../scripts/experiment.py"

        else:

            rule:
                name:
                    _v.name(_exp.job_rule)
                input:
                    src=experiment_src(_exp, "experiment.py"),
                output:
                    **part_outputs(_exp, _v),
                    manifest=paths.manifest_file(part_step(_exp), _v.root),
                log:
                    paths.log_file(part_step(_exp), _v.root),
                cache: "omit-software"
                conda:
                    "../../environment.yml"
                threads: _exp.threads
                params:
                    **experiment_params(_exp, _v),
                    **cache_params(),
                    # the unit keys the cache entry: Snakemake's cache hashes params, not wildcards
                    unit=part_step(_exp),
                script:
                    "../scripts/experiment.py"

            rule:
                name:
                    _v.name(_exp.id)
                input:
                    flat_files(join_files(_exp, _v)),
                    src=experiment_src(_exp, "experiment_join.py"),
                output:
                    **experiment_outputs(_exp.id, _v.root),
                    manifest=step_files(_exp.id, _v.root)["manifest"],
                log:
                    step_files(_exp.id, _v.root)["log"],
                cache: "omit-software"
                conda:
                    "../../environment.yml"
                params:
                    **experiment_params(_exp, _v),
                    **cache_params(),
                    files=join_files(_exp, _v),
                script:
                    "../scripts/experiment_join.py"
