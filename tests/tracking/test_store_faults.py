"""Store faults on a local MLflow store: an unreachable server, a store locked by another build
and a corrupt store each give one message that names the remedy, and nothing is overwritten."""

from __future__ import annotations

import socket
import time

import pytest

from lnpaper.tracking import store
from reliability_kit import digest


def test_unreachable_server_fails_fast_with_remedy():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(store.TrackingError) as info:
        store.log_build([], f"http://127.0.0.1:{port}", "e", {"config_hash": "x"})
    assert time.monotonic() - t0 < 30
    assert "not reachable" in str(info.value) and "Start the server" in str(info.value)


def test_store_locked_by_another_build_waits_then_names_the_remedy(tmp_path, monkeypatch):
    from filelock import FileLock

    db = tmp_path / "mlflow.db"
    monkeypatch.setattr(store, "LOCK_TIMEOUT_S", 1)
    with FileLock(str(db) + ".lock"):  # another build is logging
        with pytest.raises(store.TrackingError) as info:
            store.log_build([], f"sqlite:///{db}", "e", {"config_hash": "x"})
    assert "stayed locked" in str(info.value) and "rerun snakemake" in str(info.value)
    assert not db.exists()  # nothing was written while waiting


def test_corrupt_store_is_not_overwritten_and_names_the_remedy(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"not a database " * 1000)
    before = digest(db)
    with pytest.raises(store.TrackingError) as info:
        store.log_build([], f"sqlite:///{db}", "e", {"config_hash": "x"})
    assert "is corrupt" in str(info.value) and f"mv {db} {db}.bad" in str(info.value)
    assert digest(db) == before
