"""Processor sharing: every computing request progresses at once.

The requests that are computing share ``cores``; each gets
``min(1, cores / computing)`` of a core (egalitarian PS, the limit of a zero
quantum; close to what the kernel's CFS gives many threads with long CPU
bursts). Implemented with virtual time: ``vtime`` is the service each
computing request has received since the pod started; a request needing
``w`` core-seconds finishes when ``vtime`` reaches its tag
``vtime_at_entry + w``. Only the smallest tag matters, so the CPU keeps one
pending completion alarm, moved earlier when a shorter job arrives and
re-armed when it fires early (after a slowdown, or a CFS stall).

With a CPU limit (``cfs``), time the group spends stalled does not count:
:meth:`~sim.policies.cfs.CfsBandwidth.run` turns wall time into running time
and :meth:`~sim.policies.cfs.CfsBandwidth.finish_time` the other way round.
More demand only delays completions (quota runs out sooner), so a pending
alarm is never late.

Invariants: ``computing`` counts live heap entries; ``used_s`` is the exact
integral of ``min(computing, cores)`` over the time the group ran.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Optional

from ..clock import Alarm, Clock
from .base import CpuDiscipline

_EPS_WORK = 1e-9  # core-seconds: tags this close to vtime complete together


class ProcessorSharing(CpuDiscipline):
    """Processor-shared CPU of one pod (see the module docstring)."""

    __slots__ = ("clock", "cores", "slowdown", "cfs", "used_s", "computing",
                 "_heap", "_vtime", "_t_last", "_alarm", "_seq", "_env", "_wake", "_spare")

    def __init__(self, clock: Clock, cores: float, cfs=None):
        self.clock = clock
        self.cores = cores
        self.slowdown = 1.0
        self.cfs = cfs
        self.used_s = 0.0
        self.computing = 0
        self._heap: list = []
        self._vtime = 0.0
        self._t_last = clock.env.now
        self._alarm: Optional[Alarm] = None
        self._seq = 0
        self._env = clock.env
        self._wake = (self._on_alarm,)  # the alarms' callbacks, made once (Clock.wake_in)
        self._spare: Optional[Alarm] = None  # an alarm that fired, to schedule again

    def _advance(self, now: float) -> None:
        n = self.computing
        if n:
            dt = now - self._t_last
            cores = self.cores
            if self.cfs is not None:
                dt = self.cfs.run(self._t_last, now, n if n <= cores else cores)
            if n <= cores:
                self._vtime += dt
                self.used_s += dt * n
            else:
                self._vtime += dt * cores / n
                self.used_s += dt * cores
        self._t_last = now

    def _wall(self, now: float, run_s: float, n: int) -> float:
        """When ``run_s`` seconds of running (not stalled) time will have passed."""
        cores = self.cores
        return self.cfs.finish_time(now, run_s, n if n <= cores else cores)

    def compute(self, att, work_s: float, then=None) -> None:
        """Serve ``work_s`` core-seconds for ``att``; then ``then.proceed(att)``
        (``then`` defaults to ``att.program``). ``att.cpu_seq`` is nonzero
        until the work is done."""
        now = self._env._now
        n = self.computing
        cores = self.cores
        if n:  # _advance(now), inlined: this runs once per request (hot path)
            t_last = self._t_last
            dt = now - t_last
            if self.cfs is not None:
                dt = self.cfs.run(t_last, now, n if n <= cores else cores)
            if n <= cores:
                self._vtime += dt
                self.used_s += dt * n
            else:
                self._vtime += dt * cores / n
                self.used_s += dt * cores
        self._t_last = now
        self._seq = seq = self._seq + 1
        att.cpu_seq = seq
        work_s *= self.slowdown
        heappush(self._heap, (self._vtime + work_s, seq, att, att.program if then is None else then))
        self.computing = n = n + 1
        # More work only slows the others, so the pending alarm can stay (it
        # re-arms if it fires early); only an earlier completion needs a new one.
        due = now + (work_s if n <= cores else work_s * n / cores)
        if self.cfs is not None:
            due = self._wall(now, due - now, n)
        # inlined _alarm_by: this runs once per request (hot path)
        alarm = self._alarm
        if alarm is None or due < alarm.at:
            if alarm is not None:
                alarm.cancel()
            self._alarm = self.clock.wake_in(due - now, self._wake, self._spare)
            self._spare = None

    def _arm(self, now: float) -> None:
        """Make sure an alarm fires no later than the next completion."""
        heap = self._heap
        while heap and heap[0][2].cpu_seq != heap[0][1]:
            heappop(heap)  # cancelled entries
        if not heap:
            self._drop_alarm()
            return
        n, cores = self.computing, self.cores
        rate = 1.0 if n <= cores else cores / n
        due = now + max(0.0, heap[0][0] - self._vtime) / rate
        if self.cfs is not None:
            due = self._wall(now, due - now, n)
        self._alarm_by(now, due)

    def _on_alarm(self, fired: Alarm) -> None:
        now = self._env._now
        self._alarm = None
        self._spare = fired  # off SimPy's queue now: the next alarm reuses it
        n, cores = self.computing, self.cores
        if n:  # _advance(now), inlined (once per completion)
            t_last = self._t_last
            dt = now - t_last
            if self.cfs is not None:
                dt = self.cfs.run(t_last, now, n if n <= cores else cores)
            if n <= cores:
                self._vtime += dt
                self.used_s += dt * n
            else:
                self._vtime += dt * cores / n
                self.used_s += dt * cores
        self._t_last = now
        heap, limit = self._heap, self._vtime + _EPS_WORK
        finished = None
        while heap and heap[0][0] <= limit:
            _, seq, att, then = heappop(heap)
            if att.cpu_seq != seq:
                continue
            att.cpu_seq = 0
            n -= 1
            if finished is None:
                finished = (att, then)
            elif type(finished) is list:
                finished.append((att, then))
            else:
                finished = [finished, (att, then)]
        self.computing = n
        while heap and heap[0][2].cpu_seq != heap[0][1]:
            heappop(heap)  # cancelled entries
        if heap:
            rate = 1.0 if n <= cores else cores / n
            lag = heap[0][0] - self._vtime
            delay = lag / rate if lag > 0.0 else 0.0
            if self.cfs is not None:
                delay = self._wall(now, delay, n) - now
            self._alarm = self.clock.wake_in(delay, self._wake, fired)
            self._spare = None
        if finished is None:
            return
        if type(finished) is list:
            for att, then in finished:
                then.proceed(att)
        else:
            finished[1].proceed(finished[0])

    def clear(self) -> list:
        """Forget every computation (the container died); return their attempts."""
        self._advance(self.clock.env._now)
        atts = [entry[2] for entry in self._heap if entry[2].cpu_seq == entry[1]]
        for entry in self._heap:
            entry[2].cpu_seq = 0
        self._heap.clear()
        self.computing = 0
        self._drop_alarm()
        return atts
