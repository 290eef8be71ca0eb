"""The comparison ``lnpaper verify`` makes between a bundle and its rebuild, and the certificate.

Per science file: identical bytes, or the largest difference of any value. Per quoted number: its
two values and whether they agree. Per claim: the verdict in both builds. The rule:

- same CPU model and kernel paths (the bundle's machine record against this machine's): two
  builds of one commit agree byte for byte, so science files must be identical and every number
  must print the same at its printed digits;
- another CPU or kernel path: rounding differs and training amplifies it (on one machine, AVX2
  against AVX-512 kernels changed 12 of 21 science files), so a number agrees when the two
  values are within the noise rule of ``manuscript.noise`` (2 combined standard errors, or the
  same print at its digits without one), and the science files' largest differences are listed
  for the reader, judged through the numbers and verdicts computed from them;
- in both, every claim must keep its verdict.
With ``--config`` the rebuild ran another config: the certificate checks that the pipeline
builds end to end from the bundle's source, not the paper's numbers.
"""

from __future__ import annotations

import html
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from lnpaper.manuscript import noise
from lnpaper.pipeline import paths

RULES = {
    "same_machine": "science files byte-identical; every number prints the same at its printed "
    "digits; every verdict the same",
    "other_machine": "every number within 2 combined standard errors (the same print at its "
    "printed digits where it has none); every verdict the same; science files' largest "
    "differences listed, not judged (another CPU's rounding)",
    "pipeline": "the pipeline rebuilt every output from the bundle's source with another config: "
    "the paper's numbers were not checked",
    "seeds": "replication: the data and experiments rebuilt at each replicate seed, each claim's "
    "verdict compared with the base seed's; a claim whose verdict changes is fragile (reported, "
    "not failed)",
}


def _largest_difference(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float | None, str]:
    """The largest absolute difference of any numeric value of two frames (aligned by position),
    and where; None when their shapes or columns differ."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return None, f"shape {a.shape} -> {b.shape}"
    worst, where = 0.0, ""
    for col in a.columns:
        if not (pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col])):
            if not a[col].astype(str).equals(b[col].astype(str)):
                return None, f"column {col} (text)"
            continue
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        both_nan = np.isnan(x) & np.isnan(y)
        diff = np.where(both_nan, 0.0, np.abs(x - y))
        diff = np.where(np.isnan(diff), np.inf, diff)
        if len(diff) and diff.max() > worst:
            worst, where = float(diff.max()), f"column {col}, row {int(diff.argmax())}"
    return worst, where


def compare_science(bundled: dict[str, bytes], results: Path, exact: bool) -> list[dict]:
    """Per science file of the bundle: identical or the largest difference; ``agrees`` is
    identity when ``exact`` (same machine), else always true (listed, not judged)."""
    out = []
    for ref, data in sorted(bundled.items()):
        path = Path(results) / Path(paths.experiment_file(ref)).relative_to(paths.RESULTS)
        row = {"file": ref, "identical": False, "largest_difference": None, "where": ""}
        if not path.is_file():
            row.update(where="not rebuilt", agrees=False)
            out.append(row)
            continue
        rebuilt = path.read_bytes()
        row["identical"] = rebuilt == data
        if not row["identical"]:
            worst, where = _largest_difference(
                pd.read_parquet(io.BytesIO(data)), pd.read_parquet(io.BytesIO(rebuilt))
            )
            row.update(largest_difference=worst, where=where)
        row["agrees"] = row["identical"] or not exact
        out.append(row)
    return out


def _decimals(n: dict) -> int | None:
    from lnpaper.report.uncertainty import printed_decimals

    d = n.get("decimals")
    return int(d) if d is not None else printed_decimals(str(n.get("text", "")))


def compare_numbers(bundled: dict, rebuilt: pd.DataFrame, exact: bool) -> list[dict]:
    """Per quoted number of the bundle (numbers.json) against the rebuild's numbers.parquet."""
    new = {r["name"]: r for r in rebuilt.to_dict("records")}
    out = []
    for name in sorted(set(bundled) | set(new)):
        a, b = bundled.get(name), new.get(name)
        row = {"name": name, "bundle": None, "rebuild": None, "texts": ["–", "–"]}
        if a is None or b is None:
            row["agrees"] = False
            row["why"] = "only in the rebuild" if a is None else "not in the rebuild"
        else:
            va = math.nan if a.get("value") is None else float(a["value"])
            vb = float(b["value"])
            se_a = math.nan if a.get("se") is None else float(a["se"])
            se_b = float(b.get("se", math.nan))
            dec_b = b.get("decimals")
            dec_b = int(dec_b) if dec_b is not None and math.isfinite(dec_b) else None
            if exact:
                agrees = str(a.get("text")) == str(b["text"])
            else:
                kind = noise.classify(va, vb, se_a, se_b, _decimals(a), dec_b)
                agrees = kind != noise.SIGNIFICANT
            row.update(
                bundle=None if math.isnan(va) else va,
                rebuild=None if math.isnan(vb) else vb,
                texts=[str(a.get("text")), str(b["text"])],
                agrees=bool(agrees),
            )
        out.append(row)
    return out


def fragile_claims(claims: pd.DataFrame | None) -> set[str] | None:
    """Claims the bundle's claims table itself calls fragile (a verdict that did not replicate
    across seeds or kernels); None where it does not record that (no replication ran)."""
    if claims is None or "fragile" not in claims.columns:
        return None
    return set(claims.loc[claims["fragile"].astype(str).str.lower() == "true", "claim_id"])


def compare_claims(bundled: pd.DataFrame | None, rebuilt: pd.DataFrame | None) -> list[dict]:
    """Per claim: its verdict in the bundle and in the rebuild, and whether it is known fragile."""
    old = {} if bundled is None else dict(zip(bundled["claim_id"], bundled["verdict"], strict=True))
    new = {} if rebuilt is None else dict(zip(rebuilt["claim_id"], rebuilt["verdict"], strict=True))
    fragile = fragile_claims(bundled)
    return [
        {
            "claim_id": cid,
            "bundle": old.get(cid, "–"),
            "rebuild": new.get(cid, "–"),
            "agrees": old.get(cid) == new.get(cid),
            "fragile": None if fragile is None else cid in fragile,
        }
        for cid in sorted(set(old) | set(new))
    ]


def disagreements(cert: dict) -> list[str]:
    """One line per disagreement, naming the file, number or claim."""
    lines = list(cert.get("integrity", []))
    for r in cert.get("science", []):
        if not r["agrees"]:
            where = "" if r["largest_difference"] is None else f"{r['largest_difference']:.3g} at "
            lines.append(f"science file {r['file']}: differs ({where}{r['where']})")
    for r in cert.get("numbers", []):
        if not r["agrees"]:
            why = r.get("why") or f"{r['texts'][0]} -> {r['texts'][1]}"
            lines.append(f"number {r['name']}: {why}")
    for r in cert.get("claims", []):
        if not r["agrees"]:
            known = {
                True: "known fragile",
                False: "not fragile across the bundle's replications",
                None: "fragility unknown: the bundle has no replications",
            }[r["fragile"]]
            lines.append(f"claim {r['claim_id']}: {r['bundle']} -> {r['rebuild']} ({known})")
    return lines


# ---------------------------------------------------------------- the certificate


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t in columns)
    body = []
    for r in rows:
        cls = "" if r.get("agrees", True) else ' class="bad"'
        cells = "".join(f"<td>{html.escape(_cell(r.get(k)))}</td>" for k, _ in columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _cell(v) -> str:
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return " → ".join(map(str, v))
    return "–" if v is None else str(v)


def _machine(m: dict) -> str:
    v = m.get("versions", {})
    libs = ", ".join(f"{k} {v[k]}" for k in sorted(v))
    return (
        f"{m.get('cpu')} ({m.get('cores')} cores, torch kernels "
        f"{m.get('torch_cpu_capability')}); {m.get('os')}; {libs}"
    )


def certificate_html(cert: dict) -> str:
    """The page a person reads: verdict, scope and rule, both machines, then the tables."""
    ok = cert["verdict"] == "pass"
    lines = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Reproduction certificate</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:90%}.bad{background:#fdd}.pass{color:#070}.fail{color:#a00}"
        "</style></head><body>",
        "<h1>Reproduction certificate</h1>",
        f"<p class='{cert['verdict']}'><b>{'PASS' if ok else 'FAIL'}</b>: "
        f"{html.escape(cert['summary'])}</p>",
        f"<p>Commit <code>{html.escape(cert['commit'])}</code>; scope: "
        f"<b>{html.escape(cert['scope'])}</b>. Rule: {html.escape(cert['rule'])}.</p>",
        "<h2>Machines</h2><ul>",
        f"<li>Bundle: {html.escape(_machine(cert['machines']['bundle']))}</li>",
        f"<li>Rebuild: {html.escape(_machine(cert['machines']['rebuild']))}</li></ul>",
    ]
    if cert["disagreements"]:
        lines.append("<h2>Disagreements</h2><ul>")
        lines += [f"<li>{html.escape(d)}</li>" for d in cert["disagreements"]]
        lines.append("</ul>")
    lines += [
        *_kernels_section(cert.get("kernels")),
        *_seeds_section(cert.get("seeds")),
        "<h2>Claims</h2>",
        _table(
            cert["claims"],
            [
                ("claim_id", "claim"),
                ("bundle", "bundle"),
                ("rebuild", "rebuild"),
                ("agrees", "same"),
                ("fragile", "known fragile"),
            ],
        ),
        "<h2>Quoted numbers</h2>",
        _table(
            cert["numbers"],
            [("name", "number"), ("texts", "bundle → rebuild"), ("agrees", "agrees")],
        ),
        "<h2>Science files</h2>",
        _table(
            cert["science"],
            [
                ("file", "file"),
                ("identical", "identical bytes"),
                ("largest_difference", "largest difference"),
                ("where", "where"),
                ("agrees", "agrees"),
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(lines) + "\n"


def _kernels_section(report: dict | None) -> list[str]:
    """Claims stable or fragile across the kernel paths of ``--kernels``."""
    if not report:
        return []
    rows = [
        {
            "claim_id": c["claim_id"],
            "verdicts": " / ".join(f"{p}: {v}" for p, v in c["verdicts"].items()),
            "state": "fragile" if c["fragile"] else "stable",
            "agrees": not c["fragile"],
        }
        for c in report["claims"]
    ]
    cols = [("claim_id", "claim"), ("verdicts", "verdict per kernel path"), ("state", "")]
    return ["<h2>Claims across CPU kernel paths</h2>", _table(rows, cols)]


def _seeds_section(report: dict | None) -> list[str]:
    """Claims that replicate, or not, across the replicate seeds of ``--seeds``."""
    if not report:
        return []
    rows = [
        {
            **c,
            "share": f"{c['seeds_agree']} of {c['seeds']}",
            "state": "replicates" if c["replicates"] else "fragile",
            "agrees": c["replicates"],
        }
        for c in report["claims"]
    ]
    cols = [
        ("claim_id", "claim"),
        ("verdict_by_seed", "verdict per seed"),
        ("value_by_seed", "deciding value per seed"),
        ("share", "base verdict at"),
        ("state", ""),
    ]
    return ["<h2>Claims across seeds</h2>", _table(rows, cols)]


def write_certificate(cert: dict, out: Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    j, h = out / "certificate.json", out / "certificate.html"
    j.write_text(json.dumps(cert, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    h.write_text(certificate_html(cert), encoding="utf-8")
    return j, h
