"""pyproject.toml, requirements.lock and environment.yml declare the same pinned dependencies,
and the lock is not stale (it was generated from the pyproject.toml beside it)."""

import tomllib

import yaml

from conftest import ROOT
from lnpaper.tools import lockfile

LOCK = ROOT / "requirements.lock"


def project_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all("==" in dep for dep in deps), "every dependency is pinned exactly"
    # a name with extras (mlflow[auth]) pins the distribution mlflow
    return {lockfile.normalize(d.split("==")[0].split("[")[0]): d.split("==")[1] for d in deps}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    options = [p for p in pip if p.startswith("-")]
    assert sorted(p for p in pip if not p.startswith("-")) == sorted(project)
    # the same torch as the lock: the CPU build, from the PyTorch CPU index
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    assert "torch==2.13.0" in project
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python == "python=3.11"


def test_lock_is_generated_from_this_pyproject():
    """Fails when pyproject.toml's dependencies changed after the lock was made: run make lock."""
    assert lockfile.recorded_digest(LOCK) == lockfile.dependencies_digest(
        ROOT / "pyproject.toml"
    ), "requirements.lock is stale: run `make lock` (needs uv and the network)"


def test_lock_pins_every_dependency_with_hashes():
    locked = lockfile.pins(LOCK)
    for name, version in project_pins().items():
        # a local version label (+cpu) satisfies ==2.13.0 (PEP 440) and names the CPU build
        assert locked.get(name, "").split("+")[0] == version, name
    assert locked["torch"] == "2.13.0+cpu"
    assert not [n for n in locked if n.startswith("nvidia-")], "CUDA libraries in the lock"
    hashes = lockfile.hashes_per_package(LOCK)
    assert set(hashes) == set(locked) and min(hashes.values()) >= 1
    assert len(locked) > 100  # the transitive closure, not the 18 direct pins


def test_the_stale_check_can_fail(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text().replace('"numpy==2.4.6"', '"numpy==2.4.7"')
    )
    assert lockfile.dependencies_digest(tmp_path / "pyproject.toml") != lockfile.recorded_digest(
        LOCK
    )


def test_the_installed_packages_are_the_locked_ones():
    from importlib.metadata import distributions

    locked = lockfile.pins(LOCK)
    installed = {lockfile.normalize(d.metadata["Name"]): d.version for d in distributions()}
    differ = {n: (v, installed.get(n)) for n, v in locked.items() if installed.get(n) != v}
    assert differ == {}, "the venv differs from requirements.lock: rerun make setup"
