"""lnpaper.pipeline.io under faults: a full or read-only disk keeps the previous file and names
the remedy, and a damaged file names itself when a job reads it.

We run as root here, so chmod does not stop writes: read-only is a read-only bind mount and a full
disk a small tmpfs (both need mount rights, which root has; see reliability_kit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lnpaper.pipeline import io
from reliability_kit import digest, mount_available, read_only, tiny_disk

needs_mount = pytest.mark.skipif(not mount_available(), reason="needs mount rights (root)")


@pytest.mark.parametrize("suffix", ["parquet", "json"])
def test_a_job_reading_a_damaged_file_names_it(tmp_path, suffix):
    """The last line of defence, inside a job: the reader names the file it could not read."""
    import pandas as pd

    from lnpaper.pipeline import io

    path = tmp_path / f"x.{suffix}"
    if suffix == "parquet":
        io.write_parquet(pd.DataFrame({"a": [1.0, 2.0]}), path)
        path.write_bytes(path.read_bytes()[:-20])
        read = io.read_parquet
    else:
        path.write_text('{"a": [1, 2')
        read = io.read_json
    with pytest.raises(io.DamagedFileError) as err:
        read(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path} is damaged (not a readable ")
    assert msg.endswith("delete it and rerun snakemake to rebuild it")


@needs_mount
def test_full_disk_mid_write_keeps_the_previous_file(tmp_path):
    with tiny_disk(tmp_path / "disk", "256k") as disk:
        old = pd.DataFrame({"x": np.arange(10.0)})
        io.write_parquet(old, disk / "x.parquet")
        before = digest(disk / "x.parquet")
        big = pd.DataFrame({"x": np.random.default_rng(0).random(200_000)})  # ~1.6 MB
        with pytest.raises(io.OutputWriteError) as info:
            io.write_parquet(big, disk / "x.parquet")
        message = str(info.value)
        assert "No space left on device" in message and "free space" in message
        assert "x.parquet" in message
        assert digest(disk / "x.parquet") == before  # the old version, complete
        assert sorted(p.name for p in disk.iterdir()) == ["x.parquet"]  # no temporary left


@needs_mount
def test_read_only_write_names_the_remedy(tmp_path):
    (tmp_path / "ro").mkdir()
    io.write_text("old\n", tmp_path / "ro/t.txt")
    with read_only(tmp_path / "ro"):
        with pytest.raises(io.OutputWriteError) as info:
            io.write_text("new\n", tmp_path / "ro/t.txt")
    # (that the old file survives cannot fail under a read-only mount: not asserted here; the
    # full-disk test above checks it where a write could have damaged it)
    assert "read-only" in str(info.value) and "remount" in str(info.value)
