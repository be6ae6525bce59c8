"""Building and running the Go programs: the pinned server and the load generator.

Everything built goes to ``experiments/real-go/build/`` (git-ignored),
including Go's build cache. Only 127.0.0.1 is ever a target.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from .cgroup import CpuLimitCgroup

HERE = Path(__file__).resolve().parent.parent          # experiments/real-go
BUILD = HERE / "build"


class HarnessError(RuntimeError):
    """A step of the experiment failed; the message says which and why."""


def _go_env() -> dict:
    env = dict(os.environ)
    env.update(GOCACHE=str(BUILD / "gocache"), GOPATH=str(BUILD / "gopath"), CGO_ENABLED="0",
               GOFLAGS="-trimpath", GO111MODULE="on")
    return env


def check_tools() -> None:
    missing = [t for t in ("go", "taskset") if shutil.which(t) is None]
    if missing:
        raise HarnessError(f"missing {', '.join(missing)} (Debian: apt-get install golang-go util-linux)")
    if (os.cpu_count() or 1) < 2:
        raise HarnessError("needs two cores: the server on core 0, the load generator on core 1")


def go_version() -> str:
    return subprocess.run(["go", "version"], capture_output=True, text=True, check=True,
                          env=_go_env()).stdout.strip()


def build() -> dict[str, Path]:
    """``go build`` the server and the load generator into build/bin."""
    bins = {}
    for name in ("server", "loadgen"):
        out = BUILD / "bin" / name
        proc = subprocess.run(["go", "build", "-o", str(out), f"./{name}"], cwd=HERE, env=_go_env(),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise HarnessError(f"go build ./{name} failed:\n{proc.stderr}")
        bins[name] = out
    return bins


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


class Server:
    """The Go server on one core with GOMAXPROCS set, optionally inside a CPU-limited cgroup."""

    def __init__(self, binary: Path, log: Path, *, core: int = 0, gomaxprocs: int = 1, workers: int = 4,
                 queue: int = 4096, work_ms: float = 2.2, iters_per_ms: float = 0.0,
                 cgroup: Optional[CpuLimitCgroup] = None):
        self.cmd = ["taskset", "-c", str(core), str(binary), "-addr", "127.0.0.1:0",
                    "-workers", str(workers), "-queue", str(queue), "-work", f"{work_ms}ms",
                    "-iters-per-ms", str(iters_per_ms), "-max-lifetime", "2h"]
        self.env = dict(os.environ, GOMAXPROCS=str(gomaxprocs))
        self.log, self.cgroup = log, cgroup
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.banner = ""

    def __enter__(self) -> "Server":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=subprocess.PIPE, stderr=err,
                                         preexec_fn=self.cgroup.join if self.cgroup else None)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening 127.0.0.1:"):
            self.__exit__(None, None, None)
            raise HarnessError(f"the server did not start (first line {line!r}); see {self.log}")
        self.banner = line.strip()
        self.port = int(line.split()[1].rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stats(self) -> dict:
        return _get_json(self.url("/stats"))

    def drained_stats(self, timeout_s: float = 60.0) -> dict:
        """/stats once no /work request is in flight, so every request counted
        is one whose CPU was spent between two samples (requests the client gave
        up on still complete on the server)."""
        deadline = time.monotonic() + timeout_s
        while True:
            stats = self.stats()
            if stats["in_flight"] == 0:
                return stats
            if time.monotonic() > deadline:
                raise HarnessError(f"the server still had {stats['in_flight']} requests in flight "
                                   f"{timeout_s:g} s after the load stopped")
            time.sleep(0.1)


@dataclass
class LoadRun:
    """One load generator run: every request, and what it printed."""
    requests: pd.DataFrame        # sched_s, late_s, latency_s, status
    summary: str
    warmup_s: float

    def measured(self) -> pd.DataFrame:
        return self.requests[self.requests.sched_s >= self.warmup_s]

    def ok_latencies(self):
        m = self.measured()
        return m.latency_s[m.status == "ok"].to_numpy()

    def failed(self) -> int:
        m = self.measured()
        return int((m.status != "ok").sum())


def run_load(binary: Path, url: str, *, rate: float, seconds: float, warmup_s: float, seed: int,
             out_csv: Path, core: int = 1) -> LoadRun:
    """Open-loop Poisson load at ``rate`` for ``seconds`` from the load generator pinned to ``core``."""
    if not url.startswith("http://127.0.0.1:"):
        raise HarnessError(f"only 127.0.0.1 may be targeted (got {url})")
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["taskset", "-c", str(core), str(binary), "-url", url, "-rate", f"{rate:.6f}",
           "-seconds", str(seconds), "-warmup", str(warmup_s), "-seed", str(seed),
           "-n", str(int(rate * seconds * 2) + 100), "-out", str(out_csv)]
    try:
        proc = subprocess.run(cmd, env=dict(os.environ, GOMAXPROCS="1"), capture_output=True, text=True,
                              timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"the load generator did not finish within {seconds + 60:g} s") from None
    if proc.returncode != 0:
        raise HarnessError(f"the load generator failed ({' '.join(cmd)}):\n{proc.stderr}")
    return LoadRun(pd.read_csv(out_csv), proc.stdout.strip(), warmup_s)


def _core_times() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per core from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name.startswith("cpu") and name != "cpu":
            v = [int(x) for x in vals]
            idle = v[3] + v[4]                      # idle + iowait
            out[name] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


def background_busy(seconds: float = 1.0) -> dict[str, float]:
    """How busy each core is before we start (the machine should be quiet)."""
    t0 = _core_times()
    time.sleep(seconds)
    t1 = _core_times()
    return {c: round((t1[c][0] - t0[c][0]) / max(1, t1[c][1] - t0[c][1]), 3) for c in t0}
