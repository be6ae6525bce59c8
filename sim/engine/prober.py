"""The kubelet's probe workers for one pod (pkg/kubelet/prober).

A probe is a small request to the pod itself. With ``probe_path: pool`` (the
default) it goes through the pod's worker pool and shares its CPU like any
request, so an overloaded pod can fail its liveness probe and be restarted
(the death spiral); ``probe_path: dedicated`` models a health handler outside
the pool (it still needs a little CPU). A probe fails if the app does not
answer ok within ``timeoutSeconds``. Results are published after
``successThreshold``/``failureThreshold`` identical results in a row; until
the startup probe succeeds only it runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from ..policies.probes import ProbeConfig, ProbeResultTracker, ProbeSchedule
from ..status import OK
from .messages import INF, Attempt
from .pod import RUNNING
from .program import Program, cpu_step


@dataclass
class ProbeSetup:
    """The probes of one service, compiled from its spec."""

    schedule: ProbeSchedule
    work: Iterator[float]
    dedicated: bool

    @property
    def readiness(self) -> Optional[ProbeConfig]:
        return self.schedule.readiness

    @classmethod
    def from_spec(cls, service_spec, streams, name: str) -> Optional["ProbeSetup"]:
        configs = {}
        for kind, spec in (("startup", service_spec.startupProbe),
                           ("liveness", service_spec.livenessProbe),
                           ("readiness", service_spec.readinessProbe)):
            if spec is not None:
                configs[kind] = ProbeConfig.from_k8s(spec.model_dump(exclude_none=True), kind)
        if not configs:
            return None
        pod = service_spec.pod
        return cls(ProbeSchedule(**configs), streams.sampler(pod.probe_work, f"probe/{name}"),
                   pod.probe_path == "dedicated")


class _DedicatedProgram(Program):
    """A health handler outside the worker pool: compute, then answer."""

    def start(self, att) -> None:
        att.program = self
        att.step = 0
        self.proceed(att)

    def proceed(self, att) -> None:
        if att.step == 0 and att.work_s > 0:
            att.step = 1
            att.pod.compute(att, att.work_s)
            return
        att.server_closed = True
        att.call.respond(att, OK, 0)


_POOL_PROGRAM = Program([cpu_step])
PROBE_REQUEST_ID = -1
"""The request id of a probe: it belongs to no external request (and has no row)."""
_DEDICATED_PROGRAM = _DedicatedProgram()


class ProbeCall:
    """One probe in flight; answers the prober once (result or timeout)."""

    __slots__ = ("prober", "kind", "container", "timer", "done", "request_id")

    def __init__(self, prober: "Prober", kind: str, container: int):
        self.prober = prober
        self.kind = kind
        self.container = container
        self.done = False
        self.request_id = PROBE_REQUEST_ID
        self.timer = None

    def respond(self, att, status: int, reason: int) -> None:
        att.server_closed = True
        if not self.done:
            self.done = True
            if self.timer is not None:
                self.timer.cancel()
            self.prober.result(self.kind, self.container, status == OK)

    def timed_out(self, _unused) -> None:
        if not self.done:
            self.done = True
            self.prober.result(self.kind, self.container, False)


class Prober:
    """Probe workers (startup, liveness, readiness) of one pod."""

    def __init__(self, replicaset, pod, setup: ProbeSetup):
        self.replicaset = replicaset
        self.pod = pod
        self.setup = setup
        self.clock = replicaset.clock
        self.trackers = {kind: ProbeResultTracker(kind, setup.schedule.config_for(kind))
                         for kind in ("startup", "liveness", "readiness")
                         if setup.schedule.config_for(kind) is not None}
        self.started = False
        self.container_start_s = 0.0

    def on_container_start(self) -> None:
        now = self.clock.now
        for tracker in self.trackers.values():
            tracker.on_container_restart()
        self.container_start_s = now
        if "startup" in self.trackers:
            self.started = False
            self._first("startup", started_s=None)
        else:
            self.started = True
            self._main_probes(now)

    def _main_probes(self, started_s: float) -> None:
        for kind in ("liveness", "readiness"):
            if kind in self.trackers:
                self._first(kind, started_s)

    def _first(self, kind: str, started_s: Optional[float]) -> None:
        at = self.setup.schedule.first_probe_s(kind, self.container_start_s, started_s=started_s)
        if at is not None:
            self.clock.call_at(at, self._tick, (kind, self.pod.container))

    def _tick(self, arg) -> None:
        kind, container = arg
        pod = self.pod
        if container != pod.container or pod.phase != RUNNING:
            return
        if kind == "startup" and self.started:
            return
        self._send(kind, container)
        period = self.setup.schedule.config_for(kind).period_seconds
        self.clock.call_in(period, self._tick, arg)

    def _send(self, kind: str, container: int) -> None:
        pod, clock = self.pod, self.clock
        call = ProbeCall(self, kind, container)
        call.timer = clock.call_in(self.setup.schedule.config_for(kind).timeout_seconds,
                                   call.timed_out, None)
        att = Attempt(call, 0, clock.now, INF)
        att.arrived_s = clock.now
        att.work_s = next(self.setup.work)
        if self.setup.dedicated:
            att.pod = pod
            if pod.gate is not None and pod.gate(att):
                return
            att.started_s = clock.now
            _DEDICATED_PROGRAM.start(att)
        else:
            att.program = _POOL_PROGRAM
            pod.accept(att)

    def result(self, kind: str, container: int, ok: bool) -> None:
        pod = self.pod
        if container != pod.container or pod.phase != RUNNING:
            return
        tracker = self.trackers[kind]
        before = tracker.published
        after = tracker.observe(ok)
        if kind == "readiness":
            if after != before or bool(after) != pod.ready:
                self.replicaset.set_ready(pod, bool(after))
        elif kind == "liveness":
            if after is False and before is not False:
                self.replicaset.restart(pod, "liveness probe failed")
        elif after is True and not self.started:
            self.started = True
            self._main_probes(self.clock.now)
        elif after is False:
            self.replicaset.restart(pod, "startup probe failed")
