"""What a run will cost, estimated from the scenario before it runs.

``podsim check`` prints it; ``podsim run`` prints it and refuses a run whose
rows (``record: full``, or ``sample``'s share) would not fit in memory. Nothing here runs the
model (no SimPy): requests come from the arrival rates integrated over the
duration, hops from the call graph, memory and run time from factors
measured on real runs (below).

- **Requests**: open loop, the rate profile integrated over ``[0, duration)``
  (the same cumulative rate the arrivals are drawn from: exact for a
  deterministic process, the mean of a Poisson count otherwise; a trace of
  timestamps is counted). Closed loop: an *upper bound*, ``users x duration /
  (mean think time + the unloaded service time at the target)``: queueing
  only makes each user's cycle longer.
- **Hops per request**: one attempt per call, following each service's
  ``calls`` (sequential steps and ``parallel`` groups) from the workload's
  target, the target itself counting one. Retries and hedges can add more;
  a failed call that stops its caller, fewer.
- **Memory** that ``record: full`` needs on top of the interpreter, and
  **run time**: linear in requests and hops, calibrated below. ``summary``
  keeps no rows (bounded); ``sample:N`` keeps ~1/N of the rows plus every
  request that did not end ok.
- **Memory available**: the smallest of ``MemAvailable`` (/proc/meminfo), the
  cgroup's limit minus its working set (v2 ``memory.max - memory.current``,
  v1 ``memory.limit_in_bytes - memory.usage_in_bytes``, less the inactive
  page cache) and ``ulimit -v`` minus the process's address space.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# Calibration, measured 2026-12-02 on the 2-core machine the tests run on
# (Python 3.11, record: full, warmup 0, the engine and logs of commit 99d5503):
# peak RSS (VmHWM) of a fresh process after ``sim.run`` ("run") and after
# also building the requests and calls DataFrames as ``--out`` does
# ("+frames"), minus VmHWM after ``import sim`` (~142 MB). Best of two.
#
#   scenario        requests       hops      events  wall_s   run MB  +frames MB
#   reference 5m      45,232    223,846     775,561     2.8     42.7      62.6
#   reference 15m    153,134    763,361   2,648,222    10.2    129.8     183.6
#   reference 30m    323,519  1,608,984   5,545,334    21.2    262.7     369.2
#   reference 60m    593,797  2,960,362  10,232,825    40.3    472.4     663.5
#   mmc 2h            46,021     46,021      99,339     0.4     13.0      21.8
#   mmc 12h          276,380    276,380     597,014     2.5     69.8      90.7
#   mmc 48h        1,104,218  1,104,218   2,384,653    17.0    273.1     335.5
#
# Least squares without intercept: run = 108 B/request + 139 B/hop, +frames =
# 99 B/request + 206 B/hop (within 7 % of every run above 100 MB; the rows
# themselves are 29 and 71 bytes: numpy copies, pandas frames and the arrays'
# growth slack make the rest). The guard uses the +frames figures, rounded up.
# Re-checked on the recorder of issue 11 (record levels, uncommitted then):
# reference 30m 368 MB and mmc 48h 346 MB with record: full (estimate: 373
# and 342 MB); 27 MB and 20 MB with record: summary (bounded).
# Events: 3.46 a hop (reference: network, CPU, timeouts, probes) and 2.16
# (mmc); 140,000 to 270,000 events a second (a shared machine).
BYTES_PER_REQUEST = 100
"""Peak memory per external request with ``record: full`` (row, copies, slack)."""
BYTES_PER_HOP = 210
"""Peak memory per attempt on a hop with ``record: full`` (row, copies, slack)."""
EVENTS_PER_HOP = 3.5
"""SimPy events per hop (the request's own events included): the larger measured."""
EVENTS_PER_S = 2.5e5
"""Events a second on the machine calibrated (rough: CPU models and load differ)."""
MEMORY_SAFETY = 0.8
"""``podsim run`` refuses ``record: full`` above this fraction of the memory available."""
NEVER_REFUSED_BYTES = 64e6
"""Below this the estimate is no guide (the interpreter alone takes ~140 MB): never refused."""
MIN_CYCLE_S = 1e-3
"""Shortest closed-loop user cycle counted (the engine's MIN_RETRY_THINK_S)."""
NO_LIMIT_BYTES = 1 << 60
"""A cgroup or rlimit at or above this is "unlimited" (v1 reports ~2**63)."""


class NotEnoughMemory(Exception):
    """A run that does not fit in memory: its message says what to do instead."""


def out_of_memory_message(level: Optional[str], guess: Optional["Estimate"] = None) -> str:
    """What a ``MemoryError`` becomes: no traceback, the way out (``record: summary``)."""
    size = "" if guess is None else (f" (estimate: {count(guess.requests)} requests, {count(guess.hops)} hops, "
                                     f"{human_bytes(guess.available_bytes)} available)")
    if level in ("full", "sample"):
        return (f"podsim: out of memory: record: {level} keeps requests and hops as rows and they did not "
                f"fit{size}.\n  Use record: summary (in the scenario, or podsim run --record summary): every "
                f"summary key, in memory that does not grow with the run; or a shorter duration or a lower rate.")
    if level == "summary":
        return (f"podsim: out of memory with record: summary, whose memory does not grow with the requests"
                f"{size}.\n  Something else is too large: many pods, a long time series (raise "
                f"sample_interval), a long trace; or a shorter duration.")
    return ("podsim: out of memory.\n  With record: full or sample, use record: summary (in the scenario, "
            "or podsim run --record summary); otherwise a shorter duration, a lower rate or a smaller trace.")


@dataclass(frozen=True)
class Estimate:
    """The expected size and cost of one run (``str()`` prints it)."""

    duration_s: float
    requests: float
    requests_bound: bool
    hops_per_request: float
    retries: bool
    level: str
    one_in: int
    available_bytes: Optional[int]

    @property
    def hops(self) -> float:
        return self.requests * self.hops_per_request

    @property
    def full_memory_bytes(self) -> float:
        """Memory ``record: full`` needs, beyond the interpreter."""
        return self.requests * BYTES_PER_REQUEST + self.hops * BYTES_PER_HOP

    @property
    def memory_bytes(self) -> float:
        """Memory this run's level needs for rows (0 for summary: bounded)."""
        if self.level == "full":
            return self.full_memory_bytes
        if self.level == "sample":
            return self.full_memory_bytes / self.one_in
        return 0.0

    @property
    def wall_s(self) -> float:
        """Run time, rough (events per hop x hops / events a second)."""
        return self.hops * EVENTS_PER_HOP / EVENTS_PER_S

    @property
    def too_big(self) -> bool:
        """Rows (``full``, or ``sample``'s share) above MEMORY_SAFETY of the memory available."""
        return (self.available_bytes is not None
                and self.memory_bytes > max(MEMORY_SAFETY * self.available_bytes, NEVER_REFUSED_BYTES))

    def lines(self) -> list[str]:
        """The estimate as indented lines (``podsim check``)."""
        bound = "at most " if self.requests_bound else ""
        how = ("closed loop: users x duration / (think + unloaded service time)"
               if self.requests_bound else "arrival rates x duration")
        extra = "; retries and hedges can add more" if self.retries else ""
        return [
            f"estimate before running (rough; {how}):",
            f"  requests  {bound}{count(self.requests)} over {human_seconds(self.duration_s)}",
            f"  hops      {self.hops_per_request:.3g} per request (one attempt per call{extra}) "
            f"= {bound}{count(self.hops)}",
            f"  memory    {self._memory_text()}",
            f"  run time  ~{human_seconds(self.wall_s)} (rough)",
        ]

    def one_line(self) -> str:
        """The estimate in one line (``podsim run``)."""
        bound = "<= " if self.requests_bound else ""
        return (f"podsim: estimate: {bound}{count(self.requests)} requests, {bound}{count(self.hops)} hops, "
                f"{self._memory_text()}, ~{human_seconds(self.wall_s)} to run (rough)")

    def refusal(self) -> str:
        """Why ``podsim run`` stops before a run whose rows cannot fit."""
        lines = [f"podsim: not running: with record: {self.record_text} this run would keep "
                 f"~{human_bytes(self.memory_bytes)} "
                 f"of rows in memory ({count(self.requests)} requests, {count(self.hops)} hops, estimated "
                 f"before running), more than the {human_bytes(self.available_bytes)} available.",
                 "  Use record: summary (in the scenario, or podsim run --record summary): every summary key, "
                 "in memory that does not grow with the run.",
                 "  Or record: sample:N (rows for one request in N), a shorter duration or a lower rate."]
        if self.wall_s >= 3600:
            lines.append(f"  Note: even with record: summary it would take ~{human_seconds(self.wall_s)} "
                         f"to run (rough).")
        return "\n".join(lines)

    @property
    def record_text(self) -> str:
        """The level as the scenario says it: full, summary, sample:N."""
        return f"sample:{self.one_in}" if self.level == "sample" else self.level

    def _memory_text(self) -> str:
        available = ("unknown available" if self.available_bytes is None
                     else f"{human_bytes(self.available_bytes)} available")
        if self.level == "summary":
            return f"bounded with record: summary (full would need ~{human_bytes(self.full_memory_bytes)})"
        failed = " plus failed requests" if self.level == "sample" else ""
        return f"~{human_bytes(self.memory_bytes)} with record: {self.record_text}{failed} ({available})"

    def __str__(self) -> str:
        return "\n".join(self.lines())


def estimate(scenario, record: Optional[str] = None,
             available_bytes: Optional[int] = None) -> Estimate:
    """The estimate of one run of a loaded ``scenario``; ``record`` overrides
    its level; ``available_bytes`` defaults to :func:`available_memory_bytes`."""
    from .spec.measure import record_level
    spec = scenario.record if record is None else record_level(record)
    per_workload = {name: (workload_requests(w, scenario), hops_per_request(w.target_service, scenario))
                    for name, w in scenario.workload.items()}
    requests = sum(r for r, _ in per_workload.values())
    hops = sum(r * h for r, h in per_workload.values())
    closed = any(w.users is not None for w in scenario.workload.values())
    return Estimate(duration_s=scenario.duration, requests=requests, requests_bound=closed,
                    hops_per_request=hops / requests if requests else 0.0,
                    retries=has_retries(scenario), level=spec.level, one_in=spec.one_in,
                    available_bytes=available_memory_bytes() if available_bytes is None else available_bytes)


# ----------------------------------------------------------------------------- requests


def workload_requests(workload, scenario) -> float:
    """External requests of one workload over the run (closed loop: a bound)."""
    if workload.users is not None:
        return closed_loop_requests(workload, scenario)
    return open_loop_requests(workload.arrivals, scenario.duration)


def open_loop_requests(arrivals, duration_s: float) -> float:
    """Expected arrivals in [0, duration_s): the rate integrated, or the trace counted."""
    stamps = arrivals.timestamps()
    if stamps is not None:
        return float((stamps < duration_s).sum())
    from .engine.arrivals import cumulative_rate  # numpy only, no SimPy
    times_s, rates = arrivals.rate_points()
    expected = float(cumulative_rate(times_s, rates, arrivals.linear, [duration_s])[0])
    return math.floor(expected) if arrivals.process == "deterministic" else expected


def closed_loop_requests(workload, scenario) -> float:
    """Upper bound: every user cycles think -> unloaded service at the target."""
    think_s = workload.think_time.mean() if workload.think_time is not None else 0.0
    pod = scenario.services[workload.target_service].pod
    service_s = pod.work.mean() / min(1.0, pod.cpu or 1.0) + pod.io.mean()
    return workload.users * scenario.duration / max(think_s + service_s, MIN_CYCLE_S)


# ----------------------------------------------------------------------------- hops


def hops_per_request(target: str, scenario, _seen: Optional[dict] = None) -> int:
    """Attempts on hops of one request entering at ``target``: one there, plus
    one per call it makes, recursively (sequential and parallel alike)."""
    seen = {} if _seen is None else _seen
    if target not in scenario.services:  # an external dependency: one hop, no further
        return 1
    if target not in seen:
        seen[target] = 1 + sum(hops_per_request(name, scenario, seen)
                               for name in scenario.services[target].called_services())
    return seen[target]


def has_retries(scenario) -> bool:
    """Whether any caller may send more than one attempt (retry or hedge)."""
    policies = [w.client for w in scenario.workload.values()]
    for service in scenario.services.values():
        for step in service.all_calls():
            policies += list(step.parallel) if hasattr(step, "parallel") else [step]
    return any(p.retry is not None and p.retry.max_attempts > 1 or p.hedge is not None for p in policies)


# ----------------------------------------------------------------------------- memory available


def available_memory_bytes() -> Optional[int]:
    """The smallest of MemAvailable, the cgroup's room and ``ulimit -v``'s room (None: unknown)."""
    known = [b for b in (meminfo_available_bytes(), cgroup_available_bytes(), rlimit_available_bytes())
             if b is not None]
    return min(known) if known else None


def meminfo_available_bytes(path: str = "/proc/meminfo") -> Optional[int]:
    fields = _read_fields(path)
    return fields["MemAvailable"] * 1024 if "MemAvailable" in fields else None


CGROUP_FILES = (("memory.max", "memory.current", "memory.stat", "inactive_file"),  # v2
                ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes", "memory/memory.stat",
                 "total_inactive_file"))                                              # v1
"""(limit, usage, stat, reclaimable page cache key) of cgroup v2, then v1, under /sys/fs/cgroup."""


def cgroup_available_bytes(root: str = "/sys/fs/cgroup") -> Optional[int]:
    """The cgroup's limit minus its working set (usage minus inactive page
    cache, as the kubelet counts it): v2 ``memory.max - memory.current``, else
    v1's ``limit_in_bytes - usage_in_bytes``; None without a limit."""
    for limit_file, usage_file, stat_file, cache_key in CGROUP_FILES:
        limit, usage = _read_int(Path(root, limit_file)), _read_int(Path(root, usage_file))
        if limit is not None and limit < NO_LIMIT_BYTES:
            cache = _read_fields(str(Path(root, stat_file)), separator=" ").get(cache_key, 0)
            return max(0, limit - max(0, (usage or 0) - cache))
    return None


def rlimit_available_bytes() -> Optional[int]:
    """``ulimit -v`` (RLIMIT_AS) minus the address space in use (where MemoryError comes from)."""
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit == resource.RLIM_INFINITY or limit >= NO_LIMIT_BYTES:
        return None
    size = _read_fields("/proc/self/status").get("VmSize", 0) * 1024
    return max(0, limit - size)


def _read_int(path: Path) -> Optional[int]:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):  # absent, or "max" (cgroup v2: no limit)
        return None


def _read_fields(path: str, separator: str = ":") -> dict[str, int]:
    """``Key: 123 kB`` lines (or ``key 123`` with ``separator=" "``) as {Key: 123}."""
    fields = {}
    try:
        with open(path) as handle:
            for line in handle:
                key, _, rest = line.partition(separator)
                words = rest.split()
                if words and words[0].isdigit():
                    fields[key] = int(words[0])
    except OSError:
        pass
    return fields


# ----------------------------------------------------------------------------- human units


def count(n: float) -> str:
    """3.6e10, 340,000, 12 (a count of requests or hops, estimated)."""
    if not math.isfinite(n):
        return str(n)
    if n < 1e6:
        return f"{round(n):,}"
    mantissa, exponent = f"{n:.2g}".split("e+") if "e+" in f"{n:.2g}" else (f"{n:.2g}", "0")
    return f"{mantissa}e{int(exponent)}"


def human_bytes(n: Optional[float]) -> str:
    """1.2 GB, 340 MB (decimal units)."""
    if n is None:
        return "unknown"
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2g} {unit}" if n / size < 10 else f"{n / size:,.0f} {unit}"
    return f"{n:.0f} bytes"


def human_seconds(seconds: float) -> str:
    """2 s, 4 min, 2 h, 6 days: a rough duration for people."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size or (unit != "days" and seconds >= size):
            value = seconds / size
            return f"{value:.2g} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
