# Stage 5: the manuscript. `numbers` (before tracking, so numbers.tex is deterministic and is
# logged like any step) reads every quoted number from the tables/Parquet; `manuscript` (after
# tracking, so captions and numbers.json can name MLflow runs) fills manuscript/ and renders it.


rule numbers:
    input:
        flat_files(numbers_files),
        src=src("numbers.py"),
    output:
        values=paths.manuscript_file("numbers.parquet"),
        tex=paths.manuscript_file("numbers.tex"),
        manifest=step_files("numbers")["manifest"],
    log:
        step_files("numbers")["log"],
    benchmark:
        step_files("numbers")["benchmark"]
    conda:
        "../../environment.yml"
    params:
        numbers=numbers_params(),
        files=numbers_files,
    script:
        "../scripts/numbers.py"


rule manuscript:
    input:
        flat_files(manuscript_files),
        text=manuscript_text_files(),
        src=src("manuscript.py"),
    output:
        numbers_json=paths.manuscript_file("numbers.json"),
        markdown=paths.manuscript_file("paper.md"),
        html=report(
            paths.manuscript_file("paper.html"),
            caption="../report/manuscript.rst",
            category="Manuscript",
        ),
        pdf=paths.manuscript_file("paper.pdf"),
        docx=paths.manuscript_file("paper.docx"),
        bundle=paths.manuscript_file("bundle.zip"),
        arxiv=paths.manuscript_file("arxiv.tar.gz"),
        figures=directory(paths.manuscript_file("figures")),
    log:
        paths.log_file("manuscript"),
    benchmark:
        paths.benchmark_file("manuscript")
    conda:
        "../../environment.yml"
    params:
        language=config["language"],
        mlflow_ui=config["mlflow"]["ui_url"],
        enabled=enabled_flags(),
        config=bundle_config(),
        files=manuscript_files,
    script:
        "../scripts/manuscript.py"
