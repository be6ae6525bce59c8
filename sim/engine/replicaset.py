"""The pods of one service through their lifecycle, as the ReplicaSet
controller and the kubelet handle them.

Pending (waiting for node room) -> Starting (bound to a node; image pull,
then the container starts) -> Running (the container runs; the app listens
after its ``startup`` delay; Ready once the readiness probe passes, or at
once without one, exactly as Kubernetes does, so traffic sent before the app
listens is refused) -> Terminating (removed from endpoints at once; in-flight
work drains until ``termination_grace``, then is cut with ``grace_expired``)
-> deleted.

A liveness or startup failure, or a crash fault, restarts the container: its
in-flight and queued work ends with ``pod_killed`` (never silently), the pod
leaves the endpoints, and the kubelet starts the container again after the
CrashLoopBackOff delay (:class:`sim.policies.probes.CrashLoopBackOff`).

Scale-down picks victims as ``ReplicaSet.getPodsToDelete`` does
(:func:`sim.policies.replicaset.pods_to_delete`: unscheduled, then pending,
then not ready before ready, newest first, ...).
"""
from __future__ import annotations

import itertools
from typing import Optional

from ..policies.probes import CrashLoopBackOff
from ..policies.replicaset import PodView, pods_to_delete
from ..status import (GRACE_EXPIRED, NO_POD, NOT_SERVING, POD_CREATED, POD_DELETED, POD_KILLED,
                      POD_RESTARTED, POD_SCHEDULED, POD_STARTED, POD_TERMINATING, REJECTED)
from .clock import Clock
from .pod import DELETED, PENDING, RUNNING, STARTING, TERMINATING, Pod
from .prober import Prober


def _not_serving(att) -> bool:
    att.call.respond(att, REJECTED, NOT_SERVING)
    return True


class ReplicaSet:
    """Creates, starts, restarts and terminates the pods of one service."""

    def __init__(self, service, clock: Clock, streams, events, pod_ids: itertools.count,
                 cluster=None, probes=None):
        self.service = service
        self.clock = clock
        self.events = events
        self.cluster = cluster
        self.probes = probes
        self._pod_ids = pod_ids
        self._numbers = itertools.count()
        spec = service.spec.pod
        self._startup = streams.sampler(spec.startup, f"startup/{service.name}")
        self._pull = streams.sampler(spec.image_pull, f"image_pull/{service.name}")
        self._backoff: dict[int, CrashLoopBackOff] = {}
        self._probers: dict[int, object] = {}
        self.revision = 0
        self.rollout = None
        self.consumer = None  # a consumer service's Consumer: pods join, crash and leave it
        self.pod_faults: list = []  # faults that also hit pods created while active

    # ------------------------------------------------------------ queries
    def live(self) -> list[Pod]:
        """Pods that count as replicas: created and not terminating."""
        return [p for p in self.service.pods if p.phase < TERMINATING]

    def _emit(self, pod: Optional[Pod], kind: str, detail: str = "") -> None:
        self.events.append(self.clock.now, self.service.index, pod.id if pod else NO_POD, kind, detail)

    # ------------------------------------------------------------ scaling
    def scale_to(self, replicas: int, why: str = "") -> None:
        """Create or terminate pods so that ``replicas`` are live."""
        self.service.desired_replicas = replicas
        if self.rollout is not None:
            self.rollout.reconcile()
            return
        live = self.live()
        if replicas > len(live):
            for _ in range(replicas - len(live)):
                self.create()
        elif replicas < len(live):
            self.scale_down(live, len(live) - replicas, why or "scale down")

    def scale_down(self, pods: list[Pod], count: int, why: str) -> None:
        """Terminate the ``count`` pods of ``pods`` a ReplicaSet deletes first."""
        views = {p.name: p for p in pods}
        for view in pods_to_delete([self._view(p) for p in pods], count, self.clock.now):
            self.terminate(views[view.name], why)

    def _view(self, pod: Pod) -> PodView:
        phase = "Running" if pod.started_s is not None else "Pending"
        return PodView(name=pod.name, created_s=pod.created_s, phase=phase, ready=pod.ready,
                       ready_since_s=pod.ready_since_s if pod.ready else None,
                       restarts=pod.restarts, node=pod.node.name if pod.node else
                       ("" if pod.phase == PENDING else "default"))

    # ---------------------------------------------------------- lifecycle
    def create(self, revision: Optional[int] = None) -> Pod:
        """A new pod (Pending until a node has room for its CPU request)."""
        service, spec = self.service, self.service.spec.pod
        number = next(self._numbers)
        revision = self.revision if revision is None else revision
        pod = Pod(next(self._pod_ids), f"{service.name}-{revision}-{number}" if revision
                  else f"{service.name}-{number}", service, self.clock, cpu_cores=spec.cpu,
                  workers=spec.workers, queue_limit=spec.queue, revision=revision,
                  cpu_request=spec.cpu_request_cores, cpu_setup=service.cpu_setup)
        pod.gate = _not_serving
        pod.on_drained = self._drained
        service.pods.append(pod)
        self._emit(pod, POD_CREATED, pod.name)
        for fault in self.pod_faults:
            fault.hit(pod)
        if self.cluster is not None:
            self.cluster.schedule(pod, self.bind)
        else:
            self.bind(pod, None)
        return pod

    def bind(self, pod: Pod, node) -> None:
        """The scheduler placed the pod: pull the image, then start the container."""
        if pod.phase != PENDING:
            return
        pod.phase = STARTING
        pod.node = node
        pod.bound_s = self.clock.now
        self._emit(pod, POD_SCHEDULED, node.name if node is not None else "")
        pod.metric = None
        delay = next(self._pull)
        if delay > 0:
            self.clock.call_in(delay, self._container_start, pod)
        else:
            self._container_start(pod)

    def _container_start(self, pod: Pod) -> None:
        if pod.phase != STARTING:
            return
        now = self.clock.now
        pod.phase = RUNNING
        pod.container += 1
        if pod.started_s is None:
            pod.started_s = now
        self._emit(pod, POD_STARTED, f"container {pod.container}")
        delay = next(self._startup)
        if delay > 0:
            self.clock.call_in(delay, self._app_listening, (pod, pod.container))
        else:
            self._app_listening((pod, pod.container))
        prober = self._prober(pod)
        if prober is not None:
            prober.on_container_start()
        if self.probes is None or self.probes.readiness is None:
            self.service.set_ready(pod, True)  # no readiness probe: Ready when running

    def _prober(self, pod: Pod):
        if self.probes is None:
            return None
        prober = self._probers.get(pod.id)
        if prober is None:
            prober = self._probers[pod.id] = Prober(self, pod, self.probes)
        return prober

    def _app_listening(self, arg) -> None:
        pod, container = arg
        if pod.container != container or pod.phase != RUNNING:
            return
        pod.serving = True
        self.update_gate(pod)
        if self.consumer is not None:
            self.consumer.join(pod)
        if self.rollout is not None:
            self.rollout.poke()

    def update_gate(self, pod: Pod) -> None:
        """Recompute what answers arrivals before the worker pool (see ``Pod.gate``)."""
        if not pod.serving:
            pod.gate = _not_serving
        elif pod.faults:
            pod.gate = pod.faults[0].gate_for(pod) if len(pod.faults) == 1 else \
                _chain([f.gate_for(pod) for f in pod.faults])
        else:
            pod.gate = None

    def set_ready(self, pod: Pod, ready: bool) -> None:
        """Readiness as published by the prober (never Ready while terminating)."""
        if ready and pod.phase != RUNNING:
            return
        self.service.set_ready(pod, ready)
        if self.rollout is not None:
            self.rollout.poke()

    def restart(self, pod: Pod, why: str) -> None:
        """The container exits (liveness/startup failure, crash): kill its work,
        leave the endpoints, start again after the CrashLoopBackOff delay."""
        if pod.phase != RUNNING:
            return
        now = self.clock.now
        self.service.set_ready(pod, False)
        pod.serving = False
        self.update_gate(pod)
        if self.consumer is not None:
            self.consumer.crash(pod)  # before its in-flight messages are killed
        for bus in self.service.buses.values():
            bus.reset(pod)  # the process's channels die with it
        pod.kill(POD_KILLED)
        pod.phase = STARTING
        pod.restarts += 1
        backoff = self._backoff.setdefault(pod.id, CrashLoopBackOff())
        restart_at = backoff.on_container_exit(now)
        self._emit(pod, POD_RESTARTED, f"{why}; restart {pod.restarts} in {restart_at - now:g}s")
        self.clock.call_at(restart_at, self._container_start, pod)

    def terminate(self, pod: Pod, why: str) -> None:
        """Graceful deletion: out of endpoints now, drain, cut at the grace period."""
        if pod.phase >= TERMINATING:
            return
        was = pod.phase
        self.service.set_ready(pod, False)
        if self.consumer is not None:
            self.consumer.leave(pod)  # a graceful LeaveGroup: no new messages
        pod.phase = TERMINATING
        self._emit(pod, POD_TERMINATING, why)
        if was == PENDING and self.cluster is not None:
            self.cluster.unschedule(pod)
        if was != RUNNING or not pod.in_flight:
            self._delete(pod)
            return
        pod.draining = True
        grace = self.service.spec.pod.termination_grace
        self.clock.call_in(grace, self._grace_expired, pod)

    def _drained(self, pod: Pod) -> None:
        if pod.phase == TERMINATING:
            self._delete(pod)

    def _grace_expired(self, pod: Pod) -> None:
        if pod.phase != TERMINATING:
            return
        pod.draining = False
        pod.kill(GRACE_EXPIRED)
        self._delete(pod)

    def _delete(self, pod: Pod) -> None:
        for bus in self.service.buses.values():
            bus.reset(pod)
        pod.draining = False
        pod.serving = False
        pod.gate = _not_serving
        self.service.retired_cpu_s += pod.cpu_seconds()
        pod.phase = DELETED
        self.service.pods.remove(pod)
        self._backoff.pop(pod.id, None)
        self._probers.pop(pod.id, None)
        self._emit(pod, POD_DELETED, "")
        if self.cluster is not None and pod.node is not None:
            self.cluster.release(pod)
        if self.rollout is not None:
            self.rollout.poke()


def _chain(gates):
    def gate(att) -> bool:
        for one in gates:
            if one(att):
                return True
        return False
    return gate
