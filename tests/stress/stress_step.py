"""One light stress job: a small output and a step manifest, written atomically (temporary name,
then rename) like lnpaper.io does. Standard library only, so 60 of them start in milliseconds.
Its manifest is also the one e2e/test_tracking_stress.py gives its parallel processes."""

import hashlib
import json
import os
import sys


def atomic_write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(path + ".tmp", path)


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def stress_manifest(step: str, params: dict, metrics: dict, inputs: dict, outputs: dict) -> dict:
    """A step manifest as compute steps leave it, for a stress step: no conditions, versions,
    host or time."""
    return {
        "step": step,
        "kind": "stress",
        "params": params,
        "params_hash": step,
        "metrics": metrics,
        "conditions": None,
        "inputs": inputs,
        "outputs": outputs,
        "versions": {},
        "host": {},
        "timing": {"wall_s": 0.0},
    }


def main(i: int, matrices: str, values: str, manifest: str) -> None:
    atomic_write(values, f"job,input_sha256\n{i},{sha256(matrices)}\n")
    written = stress_manifest(
        f"stress_{i}",
        {"job": i},
        {"job": float(i)},
        inputs={"matrices": {"path": matrices, "sha256": sha256(matrices)}},
        outputs={"values": {"path": values, "sha256": sha256(values)}},
    )
    atomic_write(manifest, json.dumps(written, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
