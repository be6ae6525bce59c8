"""Fault injection: each fault starts at ``at`` and ends after ``for``.

- ``slowdown``: steps that start on a hit pod take ``factor`` times longer:
  the CPU work of requests and probes (``applies_to: cpu``), the ``io`` time
  (``io``) or both (the default). The factor is fixed when the step starts.
- ``errors``: arrivals fail fast with a 500 (``error``, ``fault_error``) with a probability.
- ``outage``: ``mode: fail`` answers every arrival with an error at once;
  ``mode: hang`` accepts and never answers (callers need timeouts).
- ``capacity``: the pods' CPU limit drops (noisy neighbour, CPU throttling).
- ``crash``: containers die (in-flight work ends with ``pod_killed``) and the
  kubelet restarts them with CrashLoopBackOff.
- ``latency``: extra delay on the hop ``from`` -> ``to``, drawn for each leg
  ``legs`` names (``both``, ``request``, ``response``) that departs while the
  fault lasts. Overlapping latency faults on one leg: the latest started
  applies, and the earlier one again when it ends.

Faults hit probes as they hit requests. With ``pods: N`` a fault hits the
first N live pods at its start (a gray failure); without it, every pod,
including pods created while it lasts. Each fault is recorded as
``fault_started`` / ``fault_ended`` events.
"""
from __future__ import annotations

from itertools import repeat

from ..status import ERROR, FAULT_ENDED, FAULT_ERROR, FAULT_OUTAGE, FAULT_STARTED, NO_POD
from .pod import RUNNING, TERMINATING

ZERO = repeat(0.0)
"""The injected delay of the unhit leg of a hit edge (see ``CallSite``)."""


class PodFault:
    """A fault that changes how the pods of one service answer or compute."""

    def __init__(self, spec, uniforms):
        self.spec = spec
        self.uniforms = uniforms
        self.pods: list = []

    def hit(self, pod) -> None:
        kind = self.spec.kind
        if kind == "slowdown":
            if self.spec.applies_to != "io":
                pod.slowdown *= self.spec.factor
            if self.spec.applies_to != "cpu":
                pod.io_slowdown *= self.spec.factor
        elif kind == "capacity":
            pod.set_cpu(min(pod.cpu_cores, self.spec.cpu))
        else:
            pod.faults.append(self)
            pod.service.replicaset.update_gate(pod)
        self.pods.append(pod)

    def heal(self, pod) -> None:
        kind = self.spec.kind
        if kind == "slowdown":
            if self.spec.applies_to != "io":
                pod.slowdown /= self.spec.factor
            if self.spec.applies_to != "cpu":
                pod.io_slowdown /= self.spec.factor
        elif kind == "capacity":
            pod.set_cpu(pod.service.spec.pod.cpu)
        elif self in pod.faults:
            pod.faults.remove(self)
            pod.service.replicaset.update_gate(pod)

    def gate_for(self, pod):
        """The gate an affected pod applies to arrivals (see ``Pod.gate``)."""
        spec, uniforms = self.spec, self.uniforms
        if spec.kind == "errors":
            def errors(att) -> bool:
                if next(uniforms) < spec.probability:
                    att.call.respond(att, ERROR, FAULT_ERROR)
                    return True
                return False
            return errors
        if spec.mode == "fail":
            def fail(att) -> bool:
                att.call.respond(att, ERROR, FAULT_OUTAGE)
                return True
            return fail

        def hang(att) -> bool:
            att.pod.hung.append(att)  # accepted, never answered (until the container dies)
            return True
        return hang


class FaultInjector:
    """Schedules every fault of a scenario and records its start and end."""

    def __init__(self, faults, services: dict, sites: list, streams, clock, events):
        self.faults = faults
        self.services = services
        self.sites = sites
        self.streams = streams
        self.clock = clock
        self.events = events
        self._on_edge: dict = {}  # site -> (request leg, response leg): the active latency samplers

    def start(self) -> None:
        for i, spec in enumerate(self.faults):
            self.clock.call_at(spec.at, self._begin, (i, spec))

    def _emit(self, service_index: int, kind: str, detail: str) -> None:
        self.events.append(self.clock.now, service_index, NO_POD, kind, detail)

    @staticmethod
    def _describe(spec) -> str:
        """``slowdown db factor=4.0 for=60.0`` (kind and target first; ``applies_to``
        and ``legs`` only when not ``both``, their default)."""
        fields = spec.model_dump(by_alias=True, exclude_none=True)
        for key in ("applies_to", "legs"):
            if fields.get(key) == "both":
                del fields[key]
        head = [fields.pop("kind"), fields.pop("service", None) or
                f"{fields.pop('from', '?')}->{fields.pop('to', '?')}"]
        fields.pop("at", None)
        return " ".join(head + [f"{k}={v}" for k, v in fields.items()])

    def _begin(self, arg) -> None:
        i, spec = arg
        if spec.kind == "latency":
            self._latency(i, spec)
            return
        service = self.services[spec.service]
        self._emit(service.index, FAULT_STARTED, self._describe(spec))
        rs = service.replicaset
        targets = [p for p in service.pods if p.phase < TERMINATING]
        if spec.pods is not None:
            targets = targets[:spec.pods]
        if spec.kind == "crash":
            for pod in [p for p in targets if p.phase == RUNNING]:
                rs.restart(pod, "crash fault")
            return
        fault = PodFault(spec, self.streams.uniforms(f"fault/{i}"))
        for pod in targets:
            fault.hit(pod)
        if spec.pods is None:
            rs.pod_faults.append(fault)
        if spec.duration is not None:
            self.clock.call_in(spec.duration, self._end, (service, fault))

    def _end(self, arg) -> None:
        service, fault = arg
        if fault in service.replicaset.pod_faults:
            service.replicaset.pod_faults.remove(fault)
        for pod in fault.pods:
            if pod.phase < TERMINATING:
                fault.heal(pod)
        self._emit(service.index, FAULT_ENDED, self._describe(fault.spec))

    def _latency(self, i: int, spec) -> None:
        hit = [s for s in self.sites if s.service.name == spec.to and s.caller_name == spec.source]
        sampler = self.streams.sampler(spec.add, f"fault/{i}")
        legs = {"both": (0, 1), "request": (0,), "response": (1,)}[spec.legs]
        for site in hit:
            active = self._on_edge.setdefault(site, ([], []))
            for leg in legs:
                active[leg].append(sampler)
            self._apply(site, active)
        service = self.services[spec.to]
        self._emit(service.index, FAULT_STARTED, self._describe(spec))
        if spec.duration is not None:
            self.clock.call_in(spec.duration, self._latency_end,
                               (spec, hit, service, sampler, legs))

    def _latency_end(self, arg) -> None:
        spec, hit, service, sampler, legs = arg
        for site in hit:
            active = self._on_edge[site]
            for leg in legs:
                active[leg].remove(sampler)
            self._apply(site, active)
        self._emit(service.index, FAULT_ENDED, self._describe(spec))

    @staticmethod
    def _apply(site, active) -> None:
        """Set the site's injected delays: the latest active fault of each leg;
        while either leg is hit, the other draws zeros (``CallSite``'s fast
        paths test ``extra_latency`` alone)."""
        request, response = (samplers[-1] if samplers else None for samplers in active)
        if request is None and response is None:
            site.extra_latency = site.extra_reply_latency = None
        else:
            site.extra_latency = ZERO if request is None else request
            site.extra_reply_latency = ZERO if response is None else response
