"""Go's runtime scheduler: GOMAXPROCS processors, a time slice, a FIFO run queue.

Real system: the Go runtime (``runtime/proc.go``). At most ``GOMAXPROCS``
goroutines run at once, one per P. A running goroutine keeps its P until it
finishes its CPU step (here: the request's ``work``, or the connection
goroutine's ``overhead_cpu``), blocks (I/O and downstream calls hold no P:
they are not computations here), or has run ``quantum`` (10 ms: sysmon's
``forcePreemptNS``); a preempted goroutine goes to the back of the run
queue, and a free P takes the goroutine at the front. With nobody waiting,
preemption changes nothing (the same goroutine is rescheduled at once), so
no event is spent on it: slices are renewed lazily when someone queues.

The running goroutines share the pod's ``cores`` (its threads' CPUs): each
gets ``min(1, cores / running)`` of a core, so with ``GOMAXPROCS <= cores``
each runs on a full core. Short steps therefore run to completion, first
come first served (M/G/c FCFS); only steps longer than the quantum time-share
(processor sharing is the limit of a zero quantum).

Simplifications: one global FIFO queue (Go has per-P local queues, work
stealing and a ``runnext`` slot that lets a goroutine just readied run next);
the quantum counts time the goroutine ran (not time its thread was stalled by
CFS throttling).

Implementation: ``vtime`` is the service each running goroutine has received
(core-seconds; all running ones progress at the same rate) and ``etime`` the
time the group has run (wall time minus CFS stalls). The running goroutines
are a heap of ``(tag, seq, slice_end, att, then)``: one completes when
``vtime`` reaches its ``tag`` and is preempted when ``etime`` reaches its
``slice_end`` while someone waits (``seq`` orders goroutines by creation and
breaks ties). One pending alarm per pod, for the earliest of those; it may
fire early (another goroutine started and slowed the rest) and then re-arms.
Uncontended, an event costs O(log GOMAXPROCS); with a run queue, O(GOMAXPROCS).

Invariants: ``len(running) <= procs``; the run queue is empty unless every P
is busy; ``computing == len(running) + len(runq)``; ``used_s`` is the
integral of ``min(len(running), cores)`` over the time the group ran.
"""
from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush
from typing import Optional

from simpy.core import NORMAL

from ..clock import Alarm, Clock
from .base import CpuDiscipline

_EPS = 1e-9  # core-seconds / seconds: tags and slice ends this close are reached


def _slice_order(entry: tuple) -> tuple:
    return entry[2], entry[1]


class GoScheduler(CpuDiscipline):
    """Go's scheduler over one pod's CPU (see the module docstring)."""

    __slots__ = ("clock", "cores", "procs", "quantum_s", "slowdown", "cfs", "used_s",
                 "computing", "_running", "_runq", "_vtime", "_etime", "_t_last", "_alarm",
                 "_seq", "_env", "_wake", "_spare", "_queue", "_eid")

    def __init__(self, clock: Clock, cores: float, procs: int, quantum_s: float = 0.010,
                 cfs=None):
        if procs < 1:
            raise ValueError(f"procs (GOMAXPROCS) must be >= 1, got {procs!r}")
        if not quantum_s > 0:
            raise ValueError(f"quantum_s must be > 0, got {quantum_s!r}")
        self.clock = clock
        self.cores = cores
        self.procs = procs
        self.quantum_s = quantum_s
        self.slowdown = 1.0
        self.cfs = cfs
        self.used_s = 0.0
        self.computing = 0
        self._running: list = []
        self._runq: deque = deque()
        self._vtime = 0.0
        self._etime = 0.0
        self._t_last = clock.env.now
        self._alarm: Optional[Alarm] = None
        self._seq = 0
        self._env, self._queue, self._eid = clock.env, clock._queue, clock._eid
        self._wake = (self._on_alarm,)  # the alarms' callbacks, made once (Clock.wake_in)
        self._spare: Optional[Alarm] = None  # an alarm that fired, to schedule again

    # --------------------------------------------------------------- time
    def _advance(self, now: float) -> None:
        m = len(self._running)
        if m:
            dt = now - self._t_last
            cores = self.cores
            if self.cfs is not None:
                dt = self.cfs.run(self._t_last, now, m if m <= cores else cores)
            self._etime += dt
            if m <= cores:
                self._vtime += dt
                self.used_s += dt * m
            else:
                self._vtime += dt * cores / m
                self.used_s += dt * cores
        self._t_last = now

    def _arm(self, now: float) -> None:
        """Make sure an alarm fires no later than the next completion, or the
        next preemption while goroutines wait."""
        running = self._running
        m = len(running)
        if not m:
            self._drop_alarm()
            return
        cores = self.cores
        first = running[0][0] - self._vtime
        if m > cores:
            first = first * m / cores
        if self._runq:
            etime, quantum = self._etime, self.quantum_s
            for i, entry in enumerate(running):
                end = entry[2]
                if end <= etime:  # ran alone past its slice: renewed at each quantum
                    end = end + quantum * ((etime - end) // quantum + 1)
                    running[i] = (entry[0], entry[1], end, entry[3], entry[4])  # same heap key
                if end - etime < first:
                    first = end - etime
        if first < 0.0:
            first = 0.0
        if self.cfs is not None:
            due = self.cfs.finish_time(now, first, m if m <= cores else cores)
        else:
            due = now + first
        # _alarm_by(now, due), inlined: once per event while goroutines wait
        alarm = self._alarm
        if alarm is None or due < alarm.at:
            if alarm is not None:
                alarm.cancel()
            spare = self._spare
            if spare is None:
                self._alarm = self.clock.wake_in(due - now, self._wake)
            else:  # Clock.wake_in(due - now, self._wake, spare), inlined (after a completion)
                self._spare = None
                spare.callbacks = self._wake
                spare.at = at = now + (due - now)
                heappush(self._queue, (at, NORMAL, next(self._eid), spare))
                self._alarm = spare

    # ------------------------------------------------------------ requests
    def compute(self, att, work_s: float, then=None) -> None:
        """Serve ``work_s`` core-seconds for ``att`` as one goroutine; then
        ``then.proceed(att)`` (``then`` defaults to ``att.program``).
        ``att.cpu_seq`` is nonzero until the work is done."""
        now = self._env._now
        running = self._running
        m = len(running)
        if m:  # _advance(now), inlined: this runs once per request (hot path)
            t_last, cores = self._t_last, self.cores
            dt = now - t_last
            if self.cfs is not None:
                dt = self.cfs.run(t_last, now, m if m <= cores else cores)
            self._etime += dt
            if m <= cores:
                self._vtime += dt
                self.used_s += dt * m
            else:
                self._vtime += dt * cores / m
                self.used_s += dt * cores
        self._t_last = now
        self._seq = seq = self._seq + 1
        att.cpu_seq = seq
        work_s *= self.slowdown
        self.computing += 1
        if m < self.procs:
            heappush(running, (self._vtime + work_s, seq, self._etime + self.quantum_s, att,
                               att.program if then is None else then))
            m += 1
            cores = self.cores
            # A newcomer only slows the others (when m > cores): the pending
            # alarm may fire early, never late; only its own end can be earlier.
            due = now + (work_s if m <= cores else work_s * m / cores)
            if self.cfs is not None:
                due = self.cfs.finish_time(now, due - now, m if m <= cores else cores)
            # inlined _alarm_by: this runs once per request (hot path)
            alarm = self._alarm
            if alarm is None or due < alarm.at:
                if alarm is not None:
                    alarm.cancel()
                self._alarm = self.clock.wake_in(due - now, self._wake, self._spare)
                self._spare = None
        else:
            runq = self._runq
            runq.append((work_s, seq, att, att.program if then is None else then))
            if len(runq) == 1:
                self._arm(now)  # preemption now matters

    def _on_alarm(self, fired: Alarm) -> None:
        now = self._env._now
        self._alarm = None
        self._spare = fired  # off SimPy's queue now: the next alarm reuses it
        running, runq = self._running, self._runq
        m = len(running)
        if m:  # _advance(now), inlined (once per completion)
            t_last, cores = self._t_last, self.cores
            dt = now - t_last
            if self.cfs is not None:
                dt = self.cfs.run(t_last, now, m if m <= cores else cores)
            self._etime += dt
            if m <= cores:
                self._vtime += dt
                self.used_s += dt * m
            else:
                self._vtime += dt * cores / m
                self.used_s += dt * cores
        self._t_last = now
        limit = self._vtime + _EPS
        finished = None
        while running and running[0][0] <= limit:
            entry = heappop(running)
            entry[3].cpu_seq = 0
            self.computing -= 1
            if finished is None:
                finished = entry
            elif type(finished) is list:
                finished.append(entry)
            else:
                finished = [finished, entry]
        if runq:
            limit = self._etime + _EPS
            for entry in running:
                if entry[2] <= limit:
                    self._preempt(running, limit)
                    break
            procs = self.procs
            if len(running) < procs:  # free Ps take goroutines from the front
                vtime, slice_end = self._vtime, self._etime + self.quantum_s
                while runq and len(running) < procs:
                    work_s, seq, att, then = runq.popleft()
                    heappush(running, (vtime + work_s, seq, slice_end, att, then))
            self._arm(now)
        elif running:  # nobody waits: only completions matter
            m, cores = len(running), self.cores
            delay = running[0][0] - self._vtime
            if m > cores:
                delay = delay * m / cores
            if delay < 0.0:
                delay = 0.0
            if self.cfs is not None:
                delay = self.cfs.finish_time(now, delay, m if m <= cores else cores) - now
            # Clock.wake_in(delay, self._wake, fired), inlined: once per completion
            fired.callbacks = self._wake
            fired.at = at = now + delay
            heappush(self._queue, (at, NORMAL, next(self._eid), fired))
            self._alarm = fired
            self._spare = None
        if finished is None:
            return
        if type(finished) is list:
            for entry in finished:
                entry[4].proceed(entry[3])
        else:
            finished[4].proceed(finished[3])

    def _preempt(self, running: list, limit: float) -> None:
        """Goroutines whose slice ended by ``limit`` go to the back of the run
        queue (several at once: in the order their slices started, then by age)."""
        due = [entry for entry in running if entry[2] <= limit]
        running[:] = [entry for entry in running if entry[2] > limit]
        heapify(running)
        due.sort(key=_slice_order)
        vtime, runq = self._vtime, self._runq
        for entry in due:
            runq.append((entry[0] - vtime, entry[1], entry[3], entry[4]))

    # ------------------------------------------------------------- control
    def clear(self) -> list:
        """Forget every goroutine (the container died); return their attempts."""
        self._advance(self.clock.env._now)
        atts = [entry[3] for entry in sorted(self._running, key=_slice_order)] \
            + [entry[2] for entry in self._runq]
        for att in atts:
            att.cpu_seq = 0
        self._running = []
        self._runq.clear()
        self.computing = 0
        self._drop_alarm()
        return atts
