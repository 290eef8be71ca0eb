# Replicates (config replicate_seeds, replicate_kernels): each replicate's data and experiments
# run as copies of their rules (data.smk, experiments.smk: `<rule>_replicate`, wildcard
# `replicate`: seed<k> or kernel-<path>); here, each replicate's claims audit, with the claim
# rules of the base build's. The base claims table (aggregate.smk) then says per claim at how
# many seeds and under which kernel paths its verdict is the base build's
# (lnpaper.report.replication). Without replicates none of these rules exists.


if replicates(config):

    rule claims_replicate:
        input:
            flat_files(replicate_claims_files),
            src=src("claims.py"),
        output:
            csv=paths.table_file("claims", "csv", REPLICATE.root),
            md=paths.table_file("claims", "md", REPLICATE.root),
            tex=paths.table_file("claims", "tex", REPLICATE.root),
            manifest=step_files("table_claims", REPLICATE.root)["manifest"],
        log:
            step_files("table_claims", REPLICATE.root)["log"],
        benchmark:
            step_files("table_claims", REPLICATE.root)["benchmark"]
        conda:
            "../../environment.yml"
        params:
            claims=replicate_claims_params,
            files=replicate_claims_files,
        script:
            "../scripts/claims.py"
