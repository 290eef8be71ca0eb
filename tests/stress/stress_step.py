"""One light stress job: a small output and a step manifest, written atomically (temporary name,
then rename) like lnpaper.io does. Standard library only, so 60 of them start in milliseconds."""

import hashlib
import json
import os
import sys

i, matrices, values, manifest = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def atomic_write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(path + ".tmp", path)


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


atomic_write(values, f"job,input_sha256\n{i},{sha256(matrices)}\n")
atomic_write(
    manifest,
    json.dumps(
        {
            "step": f"stress_{i}",
            "kind": "stress",
            "params": {"job": i},
            "params_hash": f"stress{i}",
            "metrics": {"job": float(i)},
            "conditions": None,
            "inputs": {"matrices": {"path": matrices, "sha256": sha256(matrices)}},
            "outputs": {"values": {"path": values, "sha256": sha256(values)}},
            "versions": {},
            "host": {},
            "timing": {"wall_s": 0.0},
        },
        indent=2,
        sort_keys=True,
    )
    + "\n",
)
