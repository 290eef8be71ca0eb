# Stage 4a: what each step of the build cost (wall, CPU, peak memory), from the benchmark files
# every rule writes. Tracking logs this step like any other. Its input is every step's benchmark
# except tracking's own: the track rule consumes this step's manifest, so the reverse would be a
# cycle. Timings differ per build: runtime.{csv,md} are outside the byte-identity guarantee.
# Inputs: runtime_inputs() in common.smk.


rule runtime:
    input:
        unpack(runtime_inputs),
        src=src("runtime_table", "step"),
    output:
        csv="results/tables/runtime.csv",
        md="results/tables/runtime.md",
        manifest=step_files("runtime")["manifest"],
    conda:
        "../../environment.yml"
    log:
        step_files("runtime")["log"],
    benchmark:
        step_files("runtime")["benchmark"]
    script:
        "../scripts/runtime_table.py"
