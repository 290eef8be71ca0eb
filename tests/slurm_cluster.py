"""A real single-node Slurm cluster on this machine, for tests.

Debian's slurm-wlm + munge, no accounting (jobs are watched with squeue), no systemd or cgroups.
Needs root (slurm.conf must be at /etc/slurm/slurm.conf, pitfall 1) and the binaries; otherwise
``unavailable()`` says why, and the test skips with that reason. Daemons started here are
stopped by PID; a munged already running is reused and left alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
MARK = "# lnpaper test cluster (tests/slurm_cluster.py)"
BINARIES = ("slurmctld", "slurmd", "munged", "munge", "sbatch", "squeue", "sinfo", "scancel")


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "needs root (slurm.conf must be at /etc/slurm/slurm.conf)"
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return f"Slurm/munge not installed (missing {', '.join(missing)}; apt-get install slurm-wlm munge)"
    if CONF.exists() and MARK not in CONF.read_text():
        return f"{CONF} exists and was not written by this test; refusing to overwrite it"
    return None


def slurm_conf(state: Path) -> str:
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return f"""{MARK}
ClusterName=lnpaper
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={mem_mb - 1024} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def munge_works() -> bool:
    enc = subprocess.run(["munge", "-n"], capture_output=True)
    if enc.returncode != 0:
        return False
    return subprocess.run(["unmunge"], input=enc.stdout, capture_output=True).returncode == 0


class Cluster:
    def __init__(self, state: Path):
        self.state = state
        self.procs: list[subprocess.Popen] = []
        self.munged_pid: int | None = None

    def start(self, timeout_s: float = 30) -> None:
        for d in ("ctld", "d"):
            (self.state / d).mkdir(parents=True, exist_ok=True)
        CONF.parent.mkdir(parents=True, exist_ok=True)
        CONF.write_text(slurm_conf(self.state))
        if not munge_works():
            for d in ("/run/munge", "/var/lib/munge", "/var/log/munge"):
                Path(d).mkdir(parents=True, exist_ok=True)
                shutil.chown(d, "munge", "munge")
            subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True, timeout=30)
            pid_file = Path("/run/munge/munged.pid")
            self.munged_pid = int(pid_file.read_text()) if pid_file.exists() else None
            if not munge_works():
                raise RuntimeError("munged started but munge -n | unmunge fails")
        logs = self.state
        for cmd in (["slurmctld", "-D", "-i"], ["slurmd", "-D", "-N", "localhost"]):
            out = open(logs / f"{cmd[0]}.out", "w")
            self.procs.append(
                subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            )  # = setsid
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
            if state.stdout.strip() in ("idle", "mixed", "allocated"):
                return
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"Slurm did not come up: sinfo says {state.stdout.strip()!r}; logs in {logs}"
        )

    def stop(self) -> None:
        subprocess.run(["scancel", "--user", "root"], capture_output=True, timeout=30)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        if self.munged_pid:
            try:
                os.kill(self.munged_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.munged_pid = None
        if CONF.exists() and MARK in CONF.read_text():
            CONF.unlink()
