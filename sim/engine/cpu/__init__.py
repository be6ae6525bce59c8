"""A pod's CPU: the disciplines that share it, and its CFS limit.

Every discipline has the same small interface, used by
:class:`~sim.engine.pod.Pod`:

- ``compute(att, work_s, then=None)``: serve ``work_s`` core-seconds (times
  ``slowdown``) for ``att``, then call ``then.proceed(att)`` (default
  ``att.program``); ``att.cpu_seq`` is nonzero exactly while it computes;
- ``used_until(now)``: CPU core-seconds used so far;
- ``set_cores(cores)``: capacity changes (faults);
- ``clear()``: the container died; forget everything, return the attempts;
- attributes ``cores``, ``slowdown``, ``computing`` and ``cfs`` (the
  :class:`~sim.policies.cfs.CfsBandwidth` of the pod's CPU limit, or None).

:class:`~sim.engine.cpu.go.GoScheduler` is the default (Go's run queue with
GOMAXPROCS and a quantum), :class:`~sim.engine.cpu.ps.ProcessorSharing` the
alternative. :class:`CpuSetup` builds one per pod from the service's spec and
keeps the service's throttle totals.
"""
from __future__ import annotations

from ...policies.cfs import CfsBandwidth
from ...spec.distributions import Constant
from .base import CpuDiscipline
from .go import GoScheduler
from .ps import ProcessorSharing

__all__ = ["CpuDiscipline", "CpuSetup", "GoScheduler", "ProcessorSharing"]


class CpuSetup:
    """How the pods of one service compute: discipline, limit, overhead.

    ``overhead`` is the sampler of per-request ``overhead_cpu`` (stream
    ``overhead/<service>``), or None when it is zero. ``bandwidths`` holds the
    CFS state of every pod ever created, so the service's throttle totals
    include deleted pods.
    """

    def __init__(self, kind: str = "ps", *, quantum_s: float = 0.010, procs: int = 1,
                 limit_cores=None, period_s: float = 0.1, overhead=None):
        if kind not in ("go", "ps"):
            raise ValueError(f"kind must be 'go' or 'ps', got {kind!r}")
        self.kind = kind
        self.quantum_s = quantum_s
        self.procs = procs
        self.limit_cores = limit_cores
        self.period_s = period_s
        self.overhead = overhead
        self.bandwidths: list[CfsBandwidth] = []

    @classmethod
    def from_spec(cls, pod_spec, streams, service_name: str) -> "CpuSetup":
        overhead = pod_spec.overhead_cpu
        zero = isinstance(overhead, Constant) and overhead.value == 0.0
        return cls(pod_spec.scheduler.type, quantum_s=pod_spec.scheduler.quantum,
                   procs=pod_spec.effective_gomaxprocs, limit_cores=pod_spec.cpu_limit,
                   period_s=pod_spec.cfs_period,
                   overhead=None if zero else streams.sampler(overhead, f"overhead/{service_name}"))

    def build(self, clock, cores: float, origin_s: float):
        """The CPU of a new pod created at ``origin_s`` (its CFS periods start there)."""
        cfs = None
        if self.limit_cores is not None:
            cfs = CfsBandwidth(self.limit_cores, self.period_s, origin_s)
            self.bandwidths.append(cfs)
        if self.kind == "go":
            return GoScheduler(clock, cores, self.procs, self.quantum_s, cfs)
        return ProcessorSharing(clock, cores, cfs)

    def throttle_totals(self) -> tuple[float, float]:
        """``(throttled_periods, throttled_s)`` over every pod, as of each pod's
        last CPU update (bring pods up to date first, e.g. ``cpu_seconds()``)."""
        periods = sum(b.throttled_periods for b in self.bandwidths)
        seconds = sum(b.throttled_s for b in self.bandwidths)
        return float(periods), seconds
