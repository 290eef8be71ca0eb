"""Command line: ``lnpaper compare`` (what differs between two MLflow builds), ``lnpaper builds``
(the recent builds), ``lnpaper diff`` (the paper of two or more builds, changes marked),
``lnpaper bench`` (timings), ``lnpaper verify`` (rebuild a bundle, write a certificate)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _compare(args) -> int:
    from lnpaper.tracking.compare import compare
    from lnpaper.tracking.store import TrackingError

    try:
        sys.stdout.write(
            compare(args.tracking_uri, args.experiment, args.build_a, args.build_b, args.timings)
        )
    except TrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _builds(args) -> int:
    from lnpaper.tracking.compare import builds_table
    from lnpaper.tracking.store import TrackingError

    try:
        sys.stdout.write(builds_table(args.tracking_uri, args.experiment, args.limit))
    except TrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _mlflow_build_folder(client, build_run, dest, results: Path, latest: bool):
    """A results-like folder of one MLflow build: numbers.parquet and the table files from its
    step runs' artifacts (the newer build's paper.md from ``results`` when it is the latest)."""
    import shutil

    from lnpaper.tracking.compare import build_steps

    (dest / "manuscript").mkdir(parents=True, exist_ok=True)
    (dest / "tables").mkdir(parents=True, exist_ok=True)
    for step, run_id in build_steps(client, build_run).items():
        if step != "numbers" and not step.startswith("table_"):
            continue
        got = Path(client.download_artifacts(run_id, "", str(dest / ".runs" / step)))
        for f in got.rglob("*"):
            if f.name == "numbers.parquet":
                shutil.copy2(f, dest / "manuscript" / f.name)
            elif step.startswith("table_") and f.suffix in (".md", ".csv"):
                shutil.copy2(f, dest / "tables" / f.name)
    paper = results / "manuscript" / "paper.md"
    if latest and paper.exists():
        shutil.copy2(paper, dest / "manuscript" / "paper.md")
    return dest


def _config_keys() -> set[str] | None:
    """The config's keys, from the schema of this checkout (None where it is not found)."""
    from lnpaper.manuscript.diff import schema_keys
    from lnpaper.pipeline.config import load_yaml

    schema = Path(__file__).resolve().parents[3] / "workflow/schemas/config.schema.yaml"
    return schema_keys(load_yaml(schema)) if schema.is_file() else None


def _mlflow_builds(args, results: Path, tmp: Path):
    """The builds ``lnpaper diff`` names in MLflow (default: previous and latest), as
    snapshots with each build run's config (its params) and language."""
    from lnpaper.manuscript import diff
    from lnpaper.tracking.compare import list_builds, resolve
    from lnpaper.tracking.store import TrackingError, open_client

    client, exp_id = open_client(args.tracking_uri, args.experiment)
    builds = list_builds(client, exp_id)
    if len(builds) < 2 and not (args.build_a and args.build_b):
        raise TrackingError("fewer than two builds in MLflow; name two results folders")
    # ids as `lnpaper builds` prints them, unique prefixes, latest / previous
    names = [args.build_a or "previous", args.build_b or "latest", *args.more]
    runs = [resolve(builds, name) for name in names]
    latest = builds[0].info.run_id
    snaps = []
    for i, run in enumerate(runs):
        is_latest = run.info.run_id == latest
        folder = _mlflow_build_folder(client, run, tmp / str(i), results, is_latest)
        params = dict(run.data.params)
        snap = diff.load(folder, label=run.info.run_id, config=params)
        if is_latest:  # its paper.md is this results folder's
            snap.extra["resources"].append(str(results / "manuscript"))
        snaps.append(snap)
    return snaps


def _diff(args) -> int:
    import tempfile

    from lnpaper.manuscript import diff, diff_many
    from lnpaper.pipeline import io
    from lnpaper.tracking.store import TrackingError

    results = Path(args.results)
    with tempfile.TemporaryDirectory() as tmp:
        folders = [args.build_a, args.build_b, *args.more]
        if all(folders) and all(Path(f).is_dir() for f in folders):
            keys = _config_keys()
            snaps = [diff.load(Path(f), keys=keys) for f in folders]
        else:
            try:
                snaps = _mlflow_builds(args, results, Path(tmp))
            except TrackingError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
        a, b = snaps[0], snaps[-1]
        language = diff.choose_language(a, b, args.language)
        pdf_out = args.pdf and args.out and args.out.endswith(".pdf")
        out = Path(args.out if args.out and not pdf_out else results / "manuscript/diff.html")
        many = diff_many.compare(snaps)
        table = diff_many.side_by_side(many, language) if len(snaps) > 2 else []
        d = diff.write_diff(a, b, out, language, table)
        if args.json:
            io.write_json(many, Path(args.json))
    changed = ", ".join(f"{key} {old} -> {new}" for key, old, new in d.config)
    print(f"config: {changed or 'no change'}")
    print(f"{d.summary(language)} -> {out}")
    if len(snaps) > 2:
        c = many["counts"]
        print(
            f"{len(snaps)} builds: {c['verdict_flips']} verdicts differ, {c['significant']} "
            f"numbers beyond noise, {c['noise']} within noise"
        )
    if args.pdf:  # the first and the last build
        pdf = Path(args.out if pdf_out else results / "manuscript/diff.pdf")
        significant = {r["texts"][-1] for r in many["numbers"].values() if r["significant"]}
        return _diff_pdf([folders[0], folders[-1]], pdf, significant)
    return 0


def _diff_pdf(folders: list, out: Path, significant: set[str] = frozenset()) -> int:
    """The tracked-changes PDF of two results folders' arxiv.tar.gz (latexdiff); the numbers
    that moved beyond noise (their newer printed text) highlighted."""
    from lnpaper.manuscript.diff_pdf import PdfDiffUnavailable, write_pdf_diff

    if not (all(folders) and all(Path(f).is_dir() for f in folders)):
        print(
            "diff --pdf: name two results folders (MLflow keeps no paper source)", file=sys.stderr
        )
        return 1
    try:
        sources = [Path(f) / "manuscript/arxiv.tar.gz" for f in folders]
        counts = write_pdf_diff(*sources, out, significant)
    except (PdfDiffUnavailable, FileNotFoundError, RuntimeError) as err:
        print(f"diff --pdf: {err}", file=sys.stderr)
        return 1
    print(
        f"tracked changes: {counts['added']} added, {counts['removed']} removed, "
        f"{counts['highlighted']} beyond noise highlighted -> {out}"
    )
    return 0


class ArgumentError(ValueError):
    """A command-line argument that names nothing usable (a folder, a store, a run id)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (the usage stays behind ``--help``)."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _check_arguments(args) -> None:
    """Arguments that name a folder or a store that is not there, refused before any work."""
    from lnpaper.tracking.store import sqlite_path

    uri = getattr(args, "tracking_uri", None)
    db = sqlite_path(uri) if uri else None
    named = [
        ("build_a", getattr(args, "build_a", None)),
        ("build_b", getattr(args, "build_b", None)),
    ]
    named += [(f"build {value}", value) for value in getattr(args, "more", None) or []]
    for name, value in named:
        if args.command == "diff" and value and ("/" in value or value.startswith(".")):
            if not Path(value).is_dir():
                raise ArgumentError(f"{name} {value}: no such results folder")
            if not (Path(value) / "manuscript" / "numbers.parquet").is_file():
                raise ArgumentError(
                    f"{name} {value}: not a results folder (no manuscript/numbers.parquet)"
                )
    names_folders = args.command == "diff" and args.build_a and Path(args.build_a).is_dir()
    if db is not None and not db.is_file() and not names_folders:
        raise ArgumentError(
            f"--tracking-uri {uri}: no MLflow store there ({db} does not exist); build once with "
            f"tracking on, or pass the store's URI"
        )


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that are about the user's input or store, reported in one line; anything else is a
    bug and keeps its traceback."""
    from lnpaper.pipeline.inputs import InputError
    from lnpaper.tracking.store import TrackingError

    errors: list[type[BaseException]] = [ArgumentError, InputError, TrackingError]
    try:
        from mlflow.exceptions import MlflowException

        errors.append(MlflowException)  # e.g. a run id the store does not hold
    except ImportError:
        pass
    return tuple(errors)


def _one_line(err: BaseException) -> str:
    text = getattr(err, "message", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())[:500]


def _store_options(parser: argparse.ArgumentParser, func) -> None:
    """The MLflow store a subcommand reads, and the function that runs it."""
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--experiment", default="layernorm-paper")
    parser.set_defaults(func=func)


def _diff_parser(sub) -> None:
    """``lnpaper diff A B [C ...] [--json FILE]``."""
    dif = sub.add_parser(
        "diff",
        help="the paper of two builds with changed numbers, table cells and verdicts marked "
        "(results/manuscript/diff.html)",
    )
    dif.add_argument(
        "build_a",
        nargs="?",
        help="older build: a results folder or an MLflow build run id "
        "(default: the previous build in MLflow)",
    )
    dif.add_argument("build_b", nargs="?", help="newer build (default: the latest build)")
    dif.add_argument(
        "more",
        nargs="*",
        help="further builds, shown side by side (each judged against the first)",
    )
    dif.add_argument(
        "--json",
        metavar="FILE",
        help="write every number's values per build, whether each change is significant, "
        "and the verdict flips",
    )
    dif.add_argument("--results", default="results", help="this workflow's results folder")
    dif.add_argument(
        "--out",
        help="default: <results>/manuscript/diff.html (with --pdf, a FILE.pdf names the PDF)",
    )
    dif.add_argument(
        "--pdf",
        action="store_true",
        help="also a tracked-changes PDF of the first and last paper (latexdiff on their "
        "arxiv.tar.gz; default <results>/manuscript/diff.pdf)",
    )
    dif.add_argument(
        "--language",
        choices=["vi", "en"],
        help="the page's language (default: the newer build's)",
    )
    _store_options(dif, _diff)


def build_parser() -> OneLineParser:
    """The ``lnpaper`` command line: compare, builds, diff, bench."""
    parser = OneLineParser(prog="lnpaper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    cmp_ = sub.add_parser(
        "compare",
        help="what differs between two builds, as Markdown: config params first, then science "
        "metrics, then claim verdicts",
    )
    ids = "a build id as `lnpaper builds` prints it, a unique prefix, latest or previous"
    cmp_.add_argument("build_a", nargs="?", help=f"{ids} (default: previous)")
    cmp_.add_argument("build_b", nargs="?", help=f"{ids} (default: latest)")
    cmp_.add_argument("--timings", action="store_true", help="list the step timings that differ")
    _store_options(cmp_, _compare)
    blds = sub.add_parser(
        "builds",
        help="the recent builds: id, time, commit, config digest, what differed from the "
        "build before",
    )
    blds.add_argument("--limit", type=int, default=10, help="how many builds (default 10)")
    _store_options(blds, _builds)
    _diff_parser(sub)
    bench = sub.add_parser(
        "bench",
        help="time the build, reruns, an edit and matmul at scale "
        "(Markdown table; README 'Performance')",
    )
    from lnpaper.tools import benchmark

    benchmark.add_arguments(bench)
    bench.set_defaults(func=benchmark.run)
    ver = sub.add_parser(
        "verify",
        help="rebuild a paper from its bundle.zip in a fresh folder and write a reproduction "
        "certificate (exit 0 agree, 1 disagreement, 2 refused)",
    )
    from lnpaper.tools import verify

    verify.add_arguments(ver)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    expected = _expected_errors()
    try:
        _check_arguments(args)
        return args.func(args)
    except expected as err:
        print(f"lnpaper {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
