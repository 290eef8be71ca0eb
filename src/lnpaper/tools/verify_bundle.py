"""Reading a bundle for ``lnpaper verify``: the refusals (no source, a dirty tree) and the check of
its own digests, which names every edited number, table cell, Parquet value and verdict.

A rebuild alone cannot tell an edited number from noise when the verifier's CPU differs; the
digests written when the bundle was made can. They are checked first, in about a second, and a
bundle that fails them is not rebuilt.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lnpaper.manuscript.reproduce import (
    LAYOUT,
    file_frame,
    frame_digests,
    number_digest,
    science_ref,
    sha256,
)
from lnpaper.pipeline import paths


class Refused(Exception):
    """A bundle ``lnpaper verify`` cannot check at all (exit 2), said in one line."""


@dataclass
class Bundle:
    """The files of a bundle.zip by name, and where it came from."""

    path: Path
    files: dict[str, bytes]

    def json(self, key: str) -> dict:
        return json.loads(self.files[LAYOUT[key]])

    def numbers(self) -> dict:
        return self.json("numbers").get("numbers", {})

    def claims(self) -> pd.DataFrame | None:
        name = LAYOUT["table"].format(name="claims")
        return pd.read_csv(io.BytesIO(self.files[name])) if name in self.files else None

    def science(self) -> dict[str, bytes]:
        """``<experiment>/<output>`` -> the bytes of its Parquet file."""
        return {ref: data for name, data in self.files.items() if (ref := science_ref(name))}


def bundle_path(path: Path) -> Path:
    """The bundle.zip ``path`` names: the file itself, or the bundle of a results folder."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in (
            path / Path(paths.manuscript_file("bundle.zip")).relative_to(paths.RESULTS),
            path / paths.manuscript_file("bundle.zip"),
        ):
            if candidate.is_file():
                return candidate
        raise Refused(
            f"{path}: no manuscript/bundle.zip in this folder, so the paper's source cannot be "
            "found; build the paper first, or pass its bundle.zip"
        )
    raise Refused(f"{path}: no such bundle or results folder")


def open_bundle(path: Path) -> Bundle:
    """The bundle at ``path`` (a bundle.zip or a results folder), refused in one line when it
    cannot be rebuilt: not a zip, no source, a tree with uncommitted changes."""
    zpath = bundle_path(path)
    try:
        with zipfile.ZipFile(zpath) as zf:
            files = {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}
    except (zipfile.BadZipFile, OSError) as err:
        raise Refused(f"{zpath}: not a readable bundle.zip ({err})") from None
    bundle = Bundle(zpath, files)
    if LAYOUT["commit"] not in files or LAYOUT["source"] not in files:
        raise Refused(
            f"{zpath}: the source of this paper cannot be found (no {LAYOUT['source']}: built "
            "outside a git checkout, or by a version that did not bundle its source)"
        )
    commit = bundle.json("commit")
    if not commit.get("clean"):
        raise Refused(
            f"{zpath}: built from a tree with uncommitted changes (commit "
            f"{str(commit.get('commit'))[:12]}+dirty): no commit holds its source; commit the "
            "changes and build again"
        )
    for key in ("config", "digests", "numbers"):
        if LAYOUT[key] not in files:
            raise Refused(f"{zpath}: {LAYOUT[key]} is missing, so it cannot be checked")
    return bundle


# ---------------------------------------------------------------- its own digests


def _row_label(frame: pd.DataFrame, row: int, block: int) -> str:
    if block > 1:
        return f"rows {row * block}-{min((row + 1) * block, len(frame)) - 1}"
    if "claim_id" in frame.columns and row < len(frame):
        return f"row {row} (claim {frame['claim_id'].iloc[row]})"
    return f"row {row}"


def frame_problems(name: str, frame: pd.DataFrame, want: dict) -> list[str]:
    """Where a table or science file differs from the digests it was bundled with: the changed
    columns and rows (one edited cell: one column, one row); a verdict by its claim."""
    got = frame_digests(frame, want.get("block", 1))
    cols = [c for c in want["columns"] if got["columns"].get(c) != want["columns"][c]]
    cols += [c for c in got["columns"] if c not in want["columns"]]
    rows = [i for i, d in enumerate(want["rows"]) if i >= len(got["rows"]) or got["rows"][i] != d]
    rows += list(range(len(want["rows"]), len(got["rows"])))
    what = "Parquet value" if science_ref(name) else "table cell"
    if name == LAYOUT["table"].format(name="claims") and cols == ["verdict"]:
        return [
            f"{name}: verdict of claim {frame['claim_id'].iloc[r]} was edited after the build "
            f"(now {frame['verdict'].iloc[r]})"
            for r in rows
            if r < len(frame)
        ]
    where = ", ".join(_row_label(frame, r, want.get("block", 1)) for r in rows[:5]) or "rows"
    return [f"{name}: {what} edited after the build: column {', '.join(cols) or '?'}, {where}"]


def number_problems(bundle: Bundle, want: dict[str, str]) -> list[str]:
    """The quoted numbers of numbers.json whose value or text no longer matches its digest."""
    numbers = bundle.numbers()
    out = []
    for name in sorted(set(want) | set(numbers)):
        n = numbers.get(name)
        if n is None or name not in want:
            out.append(f"number {name}: {'missing from' if n is None else 'added to'} numbers.json")
        elif number_digest(name, n.get("value"), n.get("text", "")) != want[name]:
            out.append(
                f"number {name}: edited after the build in numbers.json (now {n.get('text')})"
            )
    return out


def integrity_problems(bundle: Bundle) -> list[str]:
    """One line per file, number, table cell, Parquet value or verdict of the bundle that does
    not match the digests written when it was made; [] for an untouched bundle."""
    digests = bundle.json("digests")
    want_files = digests.get("files", {})
    out = []
    for name in sorted(set(want_files) | set(bundle.files)):
        if name in (LAYOUT["digests"], "manifest.xml"):
            continue
        data = bundle.files.get(name)
        if name not in want_files:
            out.append(f"{name}: not in the bundle's digests (added after the build)")
        elif data is None:
            out.append(f"{name}: missing from the bundle")
        elif sha256(data) != want_files[name]:
            frame = file_frame(name, data)
            if name == LAYOUT["numbers"]:
                found = number_problems(bundle, digests.get("numbers", {}))
            elif frame is not None and name in digests.get("frames", {}):
                found = frame_problems(name, frame, digests["frames"][name])
            else:
                found = []
            out += found or [f"{name}: edited after the build (its digest differs)"]
    return out
