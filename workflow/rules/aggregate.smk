# Stage 3: the paper's tables, figures and claims audit, each built from experiment Parquet only.


rule table:
    input:
        flat_files(table_files),
        src=src("table.py"),
    output:
        csv=report(
            paths.table_file("{table}", "csv"),
            caption="../report/table.rst",
            category="Tables",
        ),
        md=paths.table_file("{table}", "md"),
        tex=paths.table_file("{table}", "tex"),
        manifest=paths.manifest_file("table_{table}"),
    log:
        paths.log_file("table_{table}"),
    benchmark:
        paths.benchmark_file("table_{table}")
    conda:
        "../../environment.yml"
    params:
        table=table_params,
        files=table_files,
    script:
        "../scripts/table.py"


rule claims:
    input:
        flat_files(claims_files),
        src=src("claims.py"),
    output:
        csv=report(
            paths.table_file("claims", "csv"),
            caption="../report/table.rst",
            category="Tables",
        ),
        md=paths.table_file("claims", "md"),
        tex=paths.table_file("claims", "tex"),
        manifest=paths.manifest_file("table_claims"),
    log:
        paths.log_file("table_claims"),
    benchmark:
        paths.benchmark_file("table_claims")
    conda:
        "../../environment.yml"
    params:
        claims=claims_params,
        files=claims_files,
    script:
        "../scripts/claims.py"


rule figure:
    input:
        flat_files(figure_files),
        src=src("figure.py"),
    output:
        png=report(
            paths.figure_file("{figure}", "png"),
            caption="../report/figure.rst",
            category="Figures",
        ),
        pdf=paths.figure_file("{figure}", "pdf"),
        manifest=paths.manifest_file("figure_{figure}"),
    log:
        paths.log_file("figure_{figure}"),
    benchmark:
        paths.benchmark_file("figure_{figure}")
    conda:
        "../../environment.yml"
    params:
        figure=figure_params,
        files=figure_files,
    script:
        "../scripts/figure.py"
