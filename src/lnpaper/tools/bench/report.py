"""The benchmark's Markdown tables: measurements against their targets, with verdicts."""

from __future__ import annotations

import statistics


def spread(values, fmt="{:.2f}") -> str:
    v = sorted(values)
    return " / ".join(fmt.format(x) for x in (v[0], statistics.median(v), v[-1]))


def verdict(values, target, at_most=True) -> str:
    med = statistics.median(values)
    ok = med <= target if at_most else med >= target
    if ok:
        return "met"
    miss = (med / target - 1) if at_most else (1 - med / target)
    return f"missed by {100 * miss:.0f} %"


def _row(label: str, values, target: str = "", limit=None, fmt="{:.2f}", at_most=True) -> tuple:
    """One measure: its spread over rounds and, with a ``limit``, its verdict."""
    met = verdict(values, limit, at_most) if limit is not None else ""
    return (label, spread(values, fmt), target, met)


def table(rounds: list[dict], scale: list[dict]) -> str:
    def of(key):
        return [r[key] for r in rounds]

    def ratio(key, by):
        return [r[key] / r[by] for r in rounds]

    rows = [
        _row("full build, `snakemake --cores 4` (s)", of("full"), fmt="{:.1f}"),
        _row("compute only, one process (s)", of("compute"), fmt="{:.1f}"),
        _row("build / compute", ratio("full", "compute"), "<= 1.25", 1.25),
        _row("no-change rerun, median of 5 (s)", of("rerun"), "<= 2 s", 2.0),
        _row("no-change rerun, min of 5 (s)", of("rerun_min"), "<= 2 s", 2.0),
        _row("one gamma edit (s)", of("edit"), fmt="{:.1f}"),
        _row("one gamma edit / full build", ratio("edit", "full"), "<= 0.20", 0.20),
        _row("tracking / full build", ratio("track", "full"), "<= 0.10", 0.10, fmt="{:.3f}"),
    ]
    rows += _schedule_rows([r["schedule"] for r in rounds if "schedule" in r])
    rows += _scale_rows(scale) if scale else []
    r0 = rounds[0]
    out = ["| measure | min / median / max | target | verdict |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out.append("")
    out.append(
        f"{len(rounds)} round(s); full build ran {r0['jobs']} jobs; no-change rerun ran "
        f"{r0['rerun_jobs']}; the gamma edit ran: {', '.join(r0['edit_jobs'])}."
    )
    return "\n".join(out) + "\n"


def _schedule_rows(scheds: list[dict]) -> list[tuple]:
    """The full build's jobs as a schedule (lnpaper.tools.bench.schedule)."""
    if not scheds:
        return []
    rows = [
        _row(
            "full build: total CPU of its jobs (s)",
            [s["total_cpu_s"] for s in scheds],
            fmt="{:.1f}",
        ),
        _row(
            f"largest job ({scheds[0]['largest_job']}) / total CPU",
            [s["largest_share"] for s in scheds],
            "<= 0.15",
            0.15,
            fmt="{:.3f}",
        ),
        _row("critical path (s)", [s["critical_path_s"] for s in scheds], fmt="{:.1f}"),
    ]
    for cores in scheds[0]["ideal_wall_s"]:
        walls = [s["ideal_wall_s"][cores] for s in scheds]
        rows.append(_row(f"ideal wall at {cores} cores (s)", walls, fmt="{:.1f}"))
    return rows


def _scale_rows(scale: list[dict]) -> list[tuple]:
    """The matmul-at-scale rows of the build table."""
    eff = [e for s in scale for e in s["efficiency"]]
    s0 = scale[0]
    label = (
        f"matmul at scale: {s0['n_seeds']} seeds, n = {s0['n']}, {s0['steps']} step(s), "
        f"{s0['tflop']:.1f} TFLOP, {s0['device']} (s)"
    )
    raw = (
        f"{statistics.median([g for s in scale for g in s['raw_gflops_f64']]):.0f} / "
        f"{statistics.median([g for s in scale for g in s['raw_gflops_f32']]):.0f}"
    )
    return [
        _row(label, [s["seconds"] for s in scale], fmt="{:.1f}"),
        ("raw bmm float64 / float32 (GFLOP/s, median)", raw, "", ""),
        _row("matmul / raw bmm FLOP rate (per seed batch)", eff, ">= 0.7", 0.7, at_most=False),
        _row("peak memory of the scale run (MB)", [s["peak_rss_mb"] for s in scale], fmt="{:.0f}"),
    ]


def table_scale_only(scale: list[dict]) -> str:
    eff = [e for s in scale for e in s["efficiency"]]
    s0 = scale[0]
    return (
        "| measure | min / median / max |\n|---|---|\n"
        f"| matmul at scale, {s0['n_seeds']} seeds, n = {s0['n']}, {s0['steps']} step(s), {s0['device']} (s) | "
        f"{spread([s['seconds'] for s in scale], '{:.1f}')} |\n"
        f"| matmul / raw bmm FLOP rate | {spread(eff)} |\n"
        f"| peak memory (MB) | {spread([s['peak_rss_mb'] for s in scale], '{:.0f}')} |\n"
    )


def table_models(rates: dict) -> str:
    """The per-class rows and, per experiment, min / median / max over classes."""
    lines = [
        f"Training loops vs raw bmm ({rates['steps']} steps, {rates['threads']} thread(s), CPU s):",
        "",
        "| experiment | condition class | CPU s | GFLOP/s | / raw bmm |",
        "|---|---|---|---|---|",
    ]
    for exp in ("training", "transformer"):
        for r in rates[exp]:
            lines.append(
                f"| {exp} | {r['class']} | {r['cpu_s']:.2f} | {r['gflops']:.1f} | {r['ratio']:.2f} |"
            )
    for r in rates.get("ceiling", []):  # the same hidden layers in bare kernels: an upper bound
        lines.append(
            f"| training ceiling | {r['class']} | {r['cpu_s']:.2f} | {r['gflops']:.1f} | {r['ratio']:.2f} |"
        )
    lines += ["", "| experiment | / raw bmm, min / median / max over classes | target | verdict |"]
    lines.append("|---|---|---|---|")
    ratios = [r["ratio"] for r in rates["training"]]
    lines.append(f"| training | {spread(ratios)} | >= 0.5 | {verdict(ratios, 0.5, False)} |")
    ratios = [r["ratio"] for r in rates["transformer"]]
    lines.append(f"| transformer | {spread(ratios)} | | |")
    if rates.get("ceiling"):
        lines += [
            "",
            "Training ceiling: the hidden layers' unavoidable kernels alone (no autograd, loss, "
            "read-out, per-model affine or logging), best of 3; a training class cannot beat "
            "the ceiling row of its own normalization.",
        ]
    return "\n".join(lines) + "\n"


def table_compile(r: dict) -> str:
    return (
        f"torch.compile on one training class ({r['class']}), {r['threads']} thread(s):\n\n"
        "| measure | value |\n|---|---|\n"
        f"| compile, cold cache (wall s) | {r['compile_s']:.1f} |\n"
        f"| step, eager / compiled (CPU ms) | {r['eager_step_s'] * 1e3:.1f} / "
        f"{r['compiled_step_s'] * 1e3:.1f} |\n"
        f"| steps to pay back one compile | {r['break_even_steps']:.0f} "
        f"(a class trains {r['config_steps']}) |\n"
        f"| default build, {r['classes']} classes: compile / saved (s) | "
        f"{r['build_compile_s']:.0f} / {r['build_saved_s']:.0f} |\n"
        f"| paid back within the build | {'yes' if r['paid_back'] else 'no'} |\n"
    )
