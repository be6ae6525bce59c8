"""A progress bar for one run: simulated time against the horizon.

``podsim run`` passes a :class:`RunProgress` as ``progress=`` to
:func:`sim.run`, which calls it every ``PROGRESS_EVERY_EVENTS`` events with
the simulated time (and once at the end with the horizon). The bar shows the
simulated time in the scenario's natural unit, events a second and the time
left; it appears only once the run has lasted ``delay_s`` (2 s), only on a
terminal, on stderr, and leaves nothing behind when closed. It only reads:
the run is the same with or without it.
"""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

SHOW_AFTER_S = 2.0
"""A run shorter than this shows no bar at all."""


def natural_unit(horizon_s: float) -> tuple[str, float]:
    """(name, seconds) of the unit the horizon reads best in: s, min or h."""
    if horizon_s >= 2 * 3600:
        return "h", 3600.0
    if horizon_s >= 2 * 60:
        return "min", 60.0
    return "s", 1.0


class RunProgress:
    """``progress(now_s)`` for :func:`sim.run`, drawing a tqdm bar on ``stream``.

    Disabled (every call a no-op) when ``enabled`` is false or ``stream`` is
    not a terminal. Use as a context manager, or call :meth:`close` before
    printing anything else.
    """

    def __init__(self, horizon_s: float, *, enabled: bool = True, stream: Optional[TextIO] = None,
                 delay_s: float = SHOW_AFTER_S, desc: str = "simulating",
                 redraw_s: float = 0.5):
        from .engine.model import PROGRESS_EVERY_EVENTS
        self.stream = sys.stderr if stream is None else stream
        self.events_per_call = PROGRESS_EVERY_EVENTS
        self.unit, self.unit_s = natural_unit(horizon_s)
        self.horizon_s = horizon_s
        self.calls = 0
        self.started = time.perf_counter()
        self.bar = None
        if enabled and _is_terminal(self.stream):
            from tqdm import tqdm

            class Bar(tqdm):
                monitor_interval = 0  # no monitor thread

            self.bar = Bar(total=horizon_s / self.unit_s, desc=desc, unit=self.unit, file=self.stream,
                           delay=delay_s, leave=False, dynamic_ncols=True, mininterval=redraw_s,
                           bar_format=_bar_format(horizon_s / self.unit_s, self.unit))

    @property
    def enabled(self) -> bool:
        return self.bar is not None

    def events_per_s(self) -> float:
        """Events a second so far (``calls x PROGRESS_EVERY_EVENTS / elapsed``)."""
        elapsed = time.perf_counter() - self.started
        return self.calls * self.events_per_call / elapsed if elapsed > 0 else 0.0

    def __call__(self, now_s: float) -> None:
        if self.bar is None:
            return
        self.calls += 1
        self.bar.set_postfix_str(f"{self.events_per_s():,.0f} events/s", refresh=False)
        self.bar.update(now_s / self.unit_s - self.bar.n)

    def close(self) -> None:
        """Remove the bar (nothing is left on the terminal)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "RunProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _bar_format(total: float, unit: str) -> str:
    """``name:  42%|####      | 12.6/30 min simulated [00:05<00:07, 260,000 events/s]``."""
    digits = 0 if total >= 100 else 1
    return ("{desc}: {percentage:3.0f}%|{bar}| {n:." + str(digits) + "f}/{total:g} " + unit
            + " simulated [{elapsed}<{remaining}{postfix}]")


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False
