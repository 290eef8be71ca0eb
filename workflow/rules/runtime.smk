# Stage 4a: what each step of the build cost (wall, CPU, peak memory), from the benchmark files
# every rule writes. Tracking logs this step like any other. Its input is every step's benchmark
# except tracking's own: the track rule consumes this step's manifest, so the reverse would be a
# cycle. Timings differ per build: runtime.{csv,md} are outside the byte-identity guarantee.
# Inputs: runtime_files() in common.smk.


rule runtime:
    input:
        flat_files(runtime_files),
        src=src("runtime_table.py"),
    output:
        csv=paths.RUNTIME_CSV,
        md=paths.RUNTIME_MD,
        manifest=step_files("runtime")["manifest"],
    log:
        step_files("runtime")["log"],
    benchmark:
        step_files("runtime")["benchmark"]
    conda:
        "../../environment.yml"
    params:
        files=runtime_files,
    script:
        "../scripts/runtime_table.py"
