"""Test-only fault injection: pause a job at a named point so a test can kill it there.

Inert unless ``LNPAPER_TEST_PAUSE_AT`` is set. When a point whose name contains that value is
reached, the process creates the file named by ``LNPAPER_TEST_PAUSE_SIGNAL`` (so the test knows
where the job is) and sleeps until it is killed. Points: every atomic write just before its
rename (name = the destination file name, e.g. ``trajectories.parquet``; the complete data sits
under the temporary name), ``track:logging`` inside the tracking step after the build run was
created (the MLflow store then holds a RUNNING run) and ``track:logged:<step>`` after each step
was logged. Removing the signal file lets the paused job go on instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def pause_point(name: str) -> None:
    wanted = os.environ.get("LNPAPER_TEST_PAUSE_AT")
    if not wanted or wanted not in name:
        return
    signal_file = os.environ.get("LNPAPER_TEST_PAUSE_SIGNAL")
    if signal_file:
        Path(signal_file).write_text(f"{name} {os.getpid()}\n", encoding="utf-8")
    deadline = time.monotonic() + float(os.environ.get("LNPAPER_TEST_PAUSE_S", "600"))
    while time.monotonic() < deadline:
        if signal_file and not Path(signal_file).exists():
            return  # the test removed the file: go on (e.g. after it stopped a server)
        time.sleep(0.1)
