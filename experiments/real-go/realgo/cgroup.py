"""A CFS CPU limit for the real server, through a child cgroup.

cgroup v2: ``cpu.max = "quota period"`` in a child of this process's cgroup
(needs the ``cpu`` controller in the parent's ``cgroup.subtree_control``).
cgroup v1 (hybrid hosts, where v2 has no cpu controller): the same CFS
bandwidth control as ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``. Either
way the kernel enforces quota per period exactly as the kubelet configures
a container with ``limits.cpu``. Needs write access to the cgroup tree (root);
when that fails, :class:`CgroupUnavailable` says why.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

CGROUP_ROOT = Path("/sys/fs/cgroup")


class CgroupUnavailable(RuntimeError):
    """No CPU-limited child cgroup can be made here; the message says why."""


def _own_path(controller: Optional[str]) -> str:
    """This process's cgroup path: the v2 entry (``controller=None``) or the v1 one holding ``controller``."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hid, controllers, path = line.split(":", 2)
        if controller is None and hid == "0" and controllers == "":
            return path
        if controller is not None and controller in controllers.split(","):
            return path
    raise CgroupUnavailable(f"/proc/self/cgroup has no {'v2' if controller is None else controller} entry")


class CpuLimitCgroup:
    """A child cgroup with ``limit_cores`` of CPU per ``period_s``; remove() it when done."""

    def __init__(self, path: Path, version: int, limit_cores: float, period_s: float):
        self.path, self.version, self.limit_cores, self.period_s = path, version, limit_cores, period_s

    @classmethod
    def create(cls, limit_cores: float, period_s: float = 0.1) -> "CpuLimitCgroup":
        if not 0 < limit_cores <= 64 or not 0.001 <= period_s <= 1:
            raise ValueError(f"limit must be in (0, 64] cores and period in [1ms, 1s] (got {limit_cores}, {period_s})")
        name = f"podsim-realgo-{os.getpid()}"
        reasons = []
        for make in (cls._create_v2, cls._create_v1):
            try:
                return make(name, limit_cores, period_s)
            except (OSError, CgroupUnavailable) as exc:
                reasons.append(f"{make.__name__[-2:]}: {exc}")
        raise CgroupUnavailable("; ".join(reasons))

    @classmethod
    def _create_v2(cls, name: str, limit: float, period: float) -> "CpuLimitCgroup":
        controllers = CGROUP_ROOT / "cgroup.controllers"
        if not controllers.exists():
            raise CgroupUnavailable(f"{CGROUP_ROOT} is not a cgroup v2 mount")
        if "cpu" not in controllers.read_text().split():
            raise CgroupUnavailable(f"{controllers} lacks the cpu controller")
        parent = CGROUP_ROOT / _own_path(None).lstrip("/")
        (parent / "cgroup.subtree_control").write_text("+cpu")
        path = parent / name
        path.mkdir()
        try:
            period_us = round(period * 1e6)
            (path / "cpu.max").write_text(f"{round(limit * period_us)} {period_us}")
        except OSError:
            path.rmdir()
            raise
        return cls(path, 2, limit, period)

    @classmethod
    def _create_v1(cls, name: str, limit: float, period: float) -> "CpuLimitCgroup":
        mounts = [CGROUP_ROOT / d for d in ("cpu", "cpu,cpuacct")]
        root = next((m for m in mounts if (m / "cpu.cfs_quota_us").exists()), None)
        if root is None:
            raise CgroupUnavailable("no cgroup v1 cpu hierarchy with CFS bandwidth control")
        path = root / _own_path("cpu").lstrip("/") / name
        path.mkdir()
        try:
            period_us = round(period * 1e6)
            (path / "cpu.cfs_period_us").write_text(str(period_us))
            (path / "cpu.cfs_quota_us").write_text(str(round(limit * period_us)))
        except OSError:
            path.rmdir()
            raise
        return cls(path, 1, limit, period)

    def join(self) -> None:
        """Move the calling process into the cgroup (use as a Popen ``preexec_fn``)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def throttling(self) -> dict:
        """Periods, throttled periods and throttled seconds so far (cpu.stat)."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line.strip())
        throttled_s = (int(stat["throttled_usec"]) / 1e6 if self.version == 2
                       else int(stat["throttled_time"]) / 1e9)
        return {"nr_periods": int(stat["nr_periods"]), "nr_throttled": int(stat["nr_throttled"]),
                "throttled_s": throttled_s}

    def describe(self) -> str:
        files = "cpu.max" if self.version == 2 else "cpu.cfs_quota_us/cpu.cfs_period_us"
        return (f"cgroup v{self.version} {self.path} ({files}: {self.limit_cores * 1000:.0f}m "
                f"per {self.period_s * 1e3:.0f} ms)")

    def remove(self) -> None:
        """Remove the (by then empty) cgroup."""
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
