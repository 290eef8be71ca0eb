# Stage 3: the paper's tables and figures, each built from the experiment Parquet files only.


rule table:
    input:
        unpack(table_inputs),
        src=src("tables", "step"),
    output:
        csv=report("results/tables/{table}.csv", caption="../report/table.rst", category="Tables"),
        md="results/tables/{table}.md",
        tex="results/tables/{table}.tex",
        manifest="results/manifests/table_{table}.json",
    params:
        table=table_params,
    conda:
        "../../environment.yml"
    log:
        "results/logs/table_{table}.log",
    benchmark:
        "results/benchmarks/table_{table}.tsv"
    script:
        "../scripts/table.py"


rule figure:
    input:
        unpack(figure_inputs),
        src=src("figures", "step"),
    output:
        png=report("results/figures/{figure}.png", caption="../report/figure.rst", category="Figures"),
        pdf="results/figures/{figure}.pdf",
        manifest="results/manifests/figure_{figure}.json",
    params:
        figure=figure_params,
    conda:
        "../../environment.yml"
    log:
        "results/logs/figure_{figure}.log",
    benchmark:
        "results/benchmarks/figure_{figure}.tsv"
    script:
        "../scripts/figure.py"
