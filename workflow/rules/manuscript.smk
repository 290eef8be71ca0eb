# Stage 5: the manuscript. `numbers` (before tracking, so numbers.tex is deterministic and is
# logged like any step) reads every quoted number from the tables/Parquet; `manuscript` (after
# tracking, so captions and numbers.json can name MLflow runs) fills manuscript/ and renders it.


rule numbers:
    input:
        **numbers_inputs(),
        src=src("numbers", "step"),
    output:
        values="results/manuscript/numbers.parquet",
        tex="results/manuscript/numbers.tex",
        manifest=step_files("numbers")["manifest"],
    params:
        numbers=numbers_params(),
    conda:
        "../../environment.yml"
    log:
        step_files("numbers")["log"],
    benchmark:
        step_files("numbers")["benchmark"]
    script:
        "../scripts/numbers.py"


rule manuscript:
    input:
        **manuscript_inputs(),
        template=f"manuscript/paper.{config['language']}.md",
        captions="manuscript/captions.yaml",
        text=manuscript_files(),
        numbers="results/manuscript/numbers.parquet",
        numbers_tex="results/manuscript/numbers.tex",
        src=src("manuscript", "numbers", "tables"),
    output:
        numbers_json="results/manuscript/numbers.json",
        markdown="results/manuscript/paper.md",
        html=report("results/manuscript/paper.html", caption="../report/manuscript.rst",
                    category="Manuscript"),
        pdf="results/manuscript/paper.pdf",
        bundle="results/manuscript/bundle.zip",
        figures=directory("results/manuscript/figures"),
    params:
        language=config["language"],
        enabled=enabled_flags(),
        tables=registry.enabled_tables(config),
        figures=registry.enabled_figures(config),
    conda:
        "../../environment.yml"
    log:
        "results/logs/manuscript.log",
    benchmark:
        "results/benchmarks/manuscript.tsv"
    script:
        "../scripts/manuscript.py"
