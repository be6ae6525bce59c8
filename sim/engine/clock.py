"""Cheap, cancellable callbacks on a SimPy environment.

SimPy's queue holds any object with ``callbacks`` and ``_ok``
(``Environment.schedule`` is public API). An :class:`Alarm` is such an object
carrying a function and one argument; cancelling it clears the function, so
the entry pops as a no-op. This is the hot path's only timing primitive:
no generator processes, no ``AnyOf`` per request.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import simpy


def _fire(alarm: "Alarm") -> None:
    fn = alarm.fn
    if fn is not None:
        fn(alarm.arg)


_FIRE = (_fire,)  # SimPy only iterates an event's callbacks, so one shared tuple serves all


class Alarm:
    """A one-shot callback ``fn(arg)``; :meth:`cancel` turns it into a no-op."""

    __slots__ = ("callbacks", "_ok", "fn", "arg", "at")

    def cancel(self) -> None:
        self.fn = None


class Clock:
    """Schedules :class:`Alarm` callbacks on a ``simpy.Environment``."""

    __slots__ = ("env", "_schedule")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._schedule = env.schedule

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
        alarm.at = self.env._now + delay_s
        self._schedule(alarm, 1, delay_s)
        return alarm

    def call_at(self, time_s: float, fn: Callable[[Any], None], arg: Any = None) -> Alarm:
        """Run ``fn(arg)`` at absolute time ``time_s`` (not before now)."""
        return self.call_in(max(0.0, time_s - self.env._now), fn, arg)


def cancel(alarm: Optional[Alarm]) -> None:
    """Cancel ``alarm`` if there is one."""
    if alarm is not None:
        alarm.fn = None
