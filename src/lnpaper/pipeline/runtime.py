"""Process-level settings every compute step applies the same way: threads, denormals, device."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("lnpaper")


def setup_torch(threads: int = 1, device: str = "auto") -> str:
    """Set torch threads and denormal flushing; return the device actually used."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
    # vanishing signals become denormals, which run >10x slower on CPU; flushing changes
    # only values below ~1e-38 in float32
    torch.set_flush_denormal(True)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device: cuda was requested but torch sees no CUDA device; "
            "set device: auto or cpu in config.yaml"
        )
    return device


def setup_logging(log_path: str | None = None) -> None:
    """Send progress lines to the job's log file (and stderr when there is none)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers = [logging.FileHandler(log_path, mode="w", encoding="utf-8")]
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


class Progress:
    """Log 'label i/n (elapsed)' at most every ``every_s`` seconds, and always at the end."""

    def __init__(self, label: str, total: int = 1, every_s: float = 5.0):
        self.label, self.total, self.every_s = label, total, every_s
        self.start = self.last = time.perf_counter()

    def begin(self, total: int) -> Progress:
        """Set the number of units (an experiment knows it once it has expanded its config)."""
        self.total = total
        self.start = self.last = time.perf_counter()
        return self

    def update(self, done: int, detail: str = "") -> None:
        now = time.perf_counter()
        if done >= self.total or now - self.last >= self.every_s:
            self.last = now
            log.info(
                "%s %d/%d %s(%.1f s elapsed)",
                self.label,
                done,
                self.total,
                f"{detail} " if detail else "",
                now - self.start,
            )
