"""The named windows of a run: the scenario's ``windows`` plus two per fault.

A window is an interval ``[start_s, end_s)`` of simulated time, clipped to the
measured interval ``[warmup, duration)``. Request metrics count a request in a
window by its **arrival** time (as the run's top-level ``requests`` do), with
its final outcome, even when that came after the window closed; a rate is
divided by the clipped window's length.

Fault ``I`` (the I-th entry of ``faults``, from 0) gives:

- ``fault.I``: from its ``at`` to ``at + for`` (to the end of the run
  without ``for``);
- ``after.fault.I``: from the fault's end to the end of the run: what is left
  of the damage once the trigger is gone (a retry storm shows here).

A fault window of no length before clipping is left out: an instantaneous
fault (``crash``) has no ``fault.I``; a fault that lasts to the end (or ends
after it) has no ``after.fault.I``. A window that clips to nothing (inside the
warm-up, or a fault after the end) stays, with no requests and no rates.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A named interval of simulated time, already clipped to the measured one."""

    name: str
    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


def fault_interval_s(fault, duration_s: float) -> tuple[float, float]:
    """``[at, at + for)`` of a fault (not clipped); ``for`` absent: to the end
    of the run; a crash: ``[at, at)``, an instant."""
    start = float(fault.at)
    if not hasattr(fault, "duration"):  # a crash
        return start, start
    return start, duration_s if fault.duration is None else start + fault.duration


def measurement_windows(scenario) -> list[Window]:
    """Every window of ``scenario``: its own in file order, then each fault's."""
    lo, hi = float(scenario.warmup), float(scenario.duration)
    raw = [(name, w.start_s, w.end_s) for name, w in scenario.windows.items()]
    for i, fault in enumerate(scenario.faults):
        start, end = fault_interval_s(fault, hi)
        raw += [(f"fault.{i}", start, end), (f"after.fault.{i}", end, hi)]
    return [Window(name, min(max(start, lo), hi), max(min(end, hi), lo))
            for name, start, end in raw if end > start]
