"""Cheap, cancellable callbacks on a SimPy environment: how the engine puts
anything on SimPy's event queue.

SimPy's queue holds any object with ``callbacks`` and ``_ok``
(``Environment.schedule`` is public API). An :class:`Alarm` is such an object
carrying a function and one argument; :meth:`Alarm.cancel` empties its
callbacks, so the entry pops as a no-op (as ``asyncio.TimerHandle.cancel``
does). The request path uses nothing else: no generator processes, no
``AnyOf`` per request. The slow control loops (metrics scrapes, HPA, outlier
detection interval, cluster autoscaler, time-series samples) are ordinary
SimPy processes using SimPy's public API.

Scheduling pushes ``(time, priority, event id, event)`` onto
``Environment._queue`` exactly as ``Environment.schedule`` does, with SimPy's
own :data:`simpy.core.NORMAL` priority, but without its method call and
keyword handling: it runs several times per request. That layout is SimPy
4's, hence ``simpy>=4.1,<5`` in ``pyproject.toml``. Two hot spots push that
same entry themselves instead of calling :meth:`Clock.event_in` /
:meth:`Clock.wake_in` (one frame less, several times per request): a network
hop (:meth:`.caller.CallSite.transmit` and :meth:`~.caller.CallSite.reply`)
and a Go CPU re-arming its alarm after a completion
(:meth:`.cpu.go.GoScheduler._on_alarm` and ``_arm``). Each keeps the clock's
``_queue`` and ``_eid`` and says where it pushes; everything else goes
through the clock.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Any, Callable, Optional

import simpy
from simpy.core import NORMAL


def _fire(alarm: "Alarm") -> None:
    fn = alarm.fn
    if fn is not None:
        fn(alarm.arg)


_FIRE = (_fire,)  # SimPy only iterates an event's callbacks, so one shared tuple serves all


class Alarm:
    """A one-shot callback ``fn(arg)`` at time ``at``; :meth:`cancel` turns it into a no-op."""

    __slots__ = ("callbacks", "_ok", "fn", "arg", "at")

    def cancel(self) -> None:
        """Make the alarm a no-op (it stays queued and pops without effect).
        Cancelling twice, or after it fired, does nothing."""
        self.fn = None
        self.callbacks = ()


class Clock:
    """Schedules :class:`Alarm` callbacks and self-scheduling events on a
    ``simpy.Environment`` at :data:`simpy.core.NORMAL` priority."""

    __slots__ = ("env", "_queue", "_eid")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._queue = env._queue
        self._eid = env._eid

    @property
    def now(self) -> float:
        return self.env.now

    def call_in(self, delay_s: float, fn: Callable[[Any], None], arg: Any = None) -> Alarm:
        """Run ``fn(arg)`` after ``delay_s`` (>= 0) of simulated time."""
        alarm = Alarm()
        alarm.callbacks = _FIRE
        alarm._ok = True
        alarm.fn = fn
        alarm.arg = arg
        alarm.at = at = self.env._now + delay_s
        heappush(self._queue, (at, NORMAL, next(self._eid), alarm))
        return alarm

    def alarm_in(self, delay_s: float, fn: Callable[["Alarm"], None]) -> Alarm:
        """Run ``fn(alarm)`` after ``delay_s``, with no ``_fire`` indirection
        (the pods' CPU completions)."""
        alarm = Alarm()
        alarm.callbacks = (fn,)
        alarm._ok = True
        alarm.fn = fn
        alarm.arg = None
        alarm.at = at = self.env._now + delay_s
        heappush(self._queue, (at, NORMAL, next(self._eid), alarm))
        return alarm

    def wake_in(self, delay_s: float, callbacks: tuple, alarm: Optional[Alarm] = None) -> Alarm:
        """:meth:`alarm_in` for an owner that keeps its ``callbacks`` tuple made
        once, and may hand back ``alarm``, one of its alarms that has fired (so
        is off SimPy's queue), to be scheduled again instead of a new one: the
        pods' CPUs, whose completions would otherwise make an alarm, a bound
        method and a tuple each. ``fn`` stays None (only :meth:`Alarm.cancel`
        writes it)."""
        if alarm is None:
            alarm = Alarm()
            alarm._ok = True
            alarm.fn = alarm.arg = None
        alarm.callbacks = callbacks
        alarm.at = at = self.env._now + delay_s
        heappush(self._queue, (at, NORMAL, next(self._eid), alarm))
        return alarm

    def event_in(self, delay_s: float, event) -> None:
        """Schedule an object that is its own SimPy event: it has ``callbacks``
        (each called with the object) and ``_ok``. Attempts travel this way (an
        attempt is in one place at a time, so it needs no separate alarm)."""
        heappush(self._queue, (self.env._now + delay_s, NORMAL, next(self._eid), event))

    def event_at(self, time_s: float, event) -> None:
        """:meth:`event_in` at absolute time ``time_s`` (>= now), exactly: no
        ``now + (time_s - now)`` rounding. Open-loop arrivals, whose times are
        decided in advance, travel this way."""
        heappush(self._queue, (time_s, NORMAL, next(self._eid), event))

    def call_at(self, time_s: float, fn: Callable[[Any], None], arg: Any = None) -> Alarm:
        """Run ``fn(arg)`` at absolute time ``time_s`` (not before now)."""
        return self.call_in(max(0.0, time_s - self.env._now), fn, arg)

    @property
    def events_scheduled(self) -> int:
        """How many events SimPy has scheduled so far (its event id counter;
        reading it uses up one id, which orders nothing that follows)."""
        return next(self._eid)


class DeadlineQueue:
    """Many deadlines served by one alarm (a timer queue).

    Timeouts almost never fire: most attempts are answered first. Rather than
    one scheduled event per attempt, a call site keeps its attempts' deadlines
    in a heap and a single alarm for the earliest one still waited for (its
    caller has not closed: not ``item.caller_closed``). Entries that died
    (answered) are dropped lazily when they reach the top, so the alarm fires
    about once per *expiring* deadline, not once per attempt. ``expire(item)``
    is called for each waited-for item whose deadline has passed.
    """

    __slots__ = ("clock", "expire", "_heap", "_alarm", "_seq")

    def __init__(self, clock: Clock, expire: Callable[[Any], None]):
        self.clock = clock
        self.expire = expire
        self._heap: list = []
        self._alarm: Optional[Alarm] = None
        self._seq = 0

    def add(self, deadline_s: float, item: Any) -> None:
        self._seq += 1
        heappush(self._heap, (deadline_s, self._seq, item))
        alarm = self._alarm
        if alarm is None or deadline_s < alarm.at:
            if alarm is not None:
                alarm.cancel()
            self._alarm = self.clock.call_in(deadline_s - self.clock.env._now, self._fire, None)

    def _fire(self, _unused) -> None:
        self._alarm = None
        heap, now = self._heap, self.clock.env._now
        due = []
        # ``caller_closed`` read in place, not through a callback: every entry is popped once
        while heap and heap[0][0] <= now:
            item = heappop(heap)[2]
            if not item.caller_closed:
                due.append(item)
        while heap and heap[0][2].caller_closed:
            heappop(heap)
        if heap:
            self._alarm = self.clock.call_in(heap[0][0] - now, self._fire, None)
        for item in due:
            self.expire(item)
