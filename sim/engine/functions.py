"""Serverless functions: instances started per demand (see :mod:`sim.spec.functions`).

A function is a callee like a service (``index``, ``name``, ``receive``). Its
instances are pods (:class:`InstancePod`: a worker pool of ``concurrency``
and its own CPU, running the function's program exactly as a service's pod
runs its own), created on demand, never Ready-probed, with no pod-seconds.

Routing (as Lambda's and SimFaaS's): a request goes to the most recently
created running instance with room; else it joins a starting instance with
room (Cloud Run, concurrency > 1); else a new instance starts and the
request waits its cold start; with ``max_instances`` already there it is
throttled (``rejected``, ``concurrency_limit``, ``resource_exhausted``). An
instance with nothing to do for ``keep_alive`` is reclaimed, never below
``min_instances`` (created warm at the start).
"""
from __future__ import annotations

import math

from ..status import CANCELLED, CONCURRENCY_LIMIT, FAILURE_CODES, NO_POD, REJECTED, TIMEOUT
from .cpu import CpuSetup
from .pod import RUNNING, Pod


class InstancePod(Pod):
    """A function instance's pod: tells its function when a request ends."""

    __slots__ = ("instance",)

    def finish(self, att, status: int, reason: int) -> None:
        super().finish(att, status, reason)
        self.instance.function.finished(self.instance, att)


class Instance:
    __slots__ = ("function", "pod", "created_s", "ready", "waiting", "idle_epoch", "cold_s")

    def __init__(self, function: "Function", pod: InstancePod, created_s: float, cold_s: float):
        self.function = function
        self.pod = pod
        self.created_s = created_s
        self.cold_s = cold_s
        self.ready = False
        self.waiting: list = []   # requests waiting for this instance's cold start
        self.idle_epoch = 0

    def load(self) -> int:
        """Requests it holds or is promised."""
        return self.pod.busy + len(self.waiting)


class Function:
    """The instances of one function, and the routing of requests to them."""

    def __init__(self, index: int, name: str, spec, clock, streams, tally, warmup_s: float):
        self.index = index
        self.name = name
        self.spec = spec
        self.clock = clock
        self.env = clock.env
        self.tally = tally
        self.warmup_s = warmup_s
        self.outlier = None
        self.edges: list = []
        self.program = None          # set by the model (the function's steps)
        self.buses: dict = {}        # no in-process channels (what plans ask of a caller)
        self.instances: list[Instance] = []
        self.busy = 0                # instances serving or starting for a request
        self._work = streams.sampler(spec.work, f"work/{name}")
        self._cold = streams.sampler(spec.cold_start, f"cold_start/{name}")
        self._cpu = CpuSetup("go", procs=max(1, math.ceil(spec.cpu_cores - 1e-9)))
        self._throttle_code = FAILURE_CODES["resource_exhausted"]
        self._cold_attempts: dict = {}

    def start(self) -> None:
        """Provisioned instances: warm from the start."""
        for _ in range(self.spec.min_instances):
            self._new_instance(0.0, provisioned=True)

    # ------------------------------------------------------------- routing
    def receive(self, att) -> None:
        now = self.env._now
        att.arrived_s = now
        att.work_s = next(self._work)
        att.program = self.program
        if att.halt:
            att.call.respond(att, TIMEOUT, CANCELLED)
            return
        self.tally.invoked(now)
        room = self.spec.concurrency
        for inst in reversed(self.instances):  # the most recently created first
            if inst.ready and inst.pod.busy < room:
                inst.idle_epoch += 1
                was_busy = inst.load() > 0
                inst.pod.accept(att)
                self._levels(inst, was_busy)
                return
        for inst in reversed(self.instances):
            if not inst.ready and inst.load() < room:
                self._wait(inst, att)
                return
        if len(self.instances) >= self.spec.max_instances:
            self.tally.throttled_at(now)
            att.code = self._throttle_code
            att.call.respond(att, REJECTED, CONCURRENCY_LIMIT)
            return
        inst = self._new_instance(next(self._cold))
        self._wait(inst, att)
        if inst.cold_s <= 0.0:  # an instant cold start: still a new instance
            self._ready(inst)

    def _wait(self, inst: Instance, att) -> None:
        """``att`` waits for ``inst``'s cold start (the instance counts as busy)."""
        was_busy = inst.load() > 0
        inst.waiting.append(att)
        self._cold_attempts[att] = inst.cold_s
        self._levels(inst, was_busy)

    def _new_instance(self, cold_s: float, provisioned: bool = False) -> Instance:
        """A new instance; on demand it is a cold start (even an instant one)
        and becomes ready after ``cold_s``; a provisioned one is ready now."""
        now = self.env._now
        pod = InstancePod(NO_POD, f"{self.name}-instance", self, self.clock,
                          cpu_cores=self.spec.cpu_cores, workers=self.spec.concurrency, queue_limit=0,
                          cpu_setup=self._cpu)
        pod.phase = RUNNING
        inst = Instance(self, pod, now, cold_s)
        inst.ready = provisioned
        pod.instance = inst
        self.instances.append(inst)
        self.tally.instances_changed(now, len(self.instances), self.busy)
        if provisioned:
            self._idle(inst)
        else:
            self.tally.cold_started(now)
            if cold_s > 0.0:
                self.clock.call_in(cold_s, self._ready, inst)
        return inst

    def _ready(self, inst: Instance) -> None:
        was_busy = inst.load() > 0
        inst.ready = True
        waiting, inst.waiting = inst.waiting, []
        for att in waiting:
            if att.halt:  # its caller gave up and propagated it during the cold start
                self._cold_attempts.pop(att, None)
                att.call.respond(att, TIMEOUT, CANCELLED)
            else:
                inst.pod.accept(att)
        self._levels(inst, was_busy)
        if not inst.pod.busy:
            self._idle(inst)

    # ------------------------------------------------------------ lifecycle
    def finished(self, inst: Instance, att) -> None:
        """A request ended on ``inst``: account for it; an idle instance starts its keep-alive."""
        now = self.env._now
        cold_s = self._cold_attempts.pop(att, None)
        self.tally.served(att.arrived_s, now - att.arrived_s, now - att.started_s, cold_s)
        self._levels(inst, True)  # it held this request until now
        if not inst.pod.busy and not inst.waiting:
            self._idle(inst)

    def _idle(self, inst: Instance) -> None:
        inst.idle_epoch += 1
        self.clock.call_in(self.spec.keep_alive, self._expire, (inst, inst.idle_epoch))

    def _expire(self, arg) -> None:
        inst, epoch = arg
        if inst.idle_epoch != epoch or inst.pod.busy or inst.waiting or inst not in self.instances:
            return
        if len(self.instances) <= self.spec.min_instances:
            return  # provisioned: kept warm
        self.instances.remove(inst)
        self.tally.instances_changed(self.env._now, len(self.instances), self.busy)

    def _levels(self, inst: Instance, was_busy: bool) -> None:
        """``inst``'s load changed: keep the count of busy instances (serving or
        starting for a request) and report the levels."""
        now_busy = inst.load() > 0
        if now_busy != was_busy:
            self.busy += 1 if now_busy else -1
        self.tally.instances_changed(self.env._now, len(self.instances), self.busy)

    # ------------------------------------------- what Pod asks of its service
    max_queue_time_s = None

    def admit_from_queue(self, att) -> bool:  # instances have no queue
        return True
