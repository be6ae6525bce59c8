"""What every CPU discipline of a pod shares: re-pacing on a capacity change,
CPU accounting up to now, and cancelling its one pending alarm."""
from __future__ import annotations


class CpuDiscipline:
    """Base of :class:`~sim.engine.cpu.go.GoScheduler` and
    :class:`~sim.engine.cpu.ps.ProcessorSharing`.

    A subclass keeps ``clock``, ``cores``, ``used_s``, ``_alarm`` (its one
    pending completion alarm, or None), ``_wake`` (``(self._on_alarm,)``, the
    alarms' callbacks) and ``_spare`` (an alarm that fired, to reuse, or None;
    see :meth:`~sim.engine.clock.Clock.wake_in`) and implements ``_on_alarm``, ``_advance(now)``
    (bring time and accounting up to ``now``) and ``_arm(now)`` (make sure an
    alarm fires no later than its next event).
    """

    __slots__ = ()

    def _alarm_by(self, now: float, due: float) -> None:
        """Make sure the pending alarm fires no later than ``due``: keep it if
        it is due first (it re-arms if it fires early), else replace it."""
        alarm = self._alarm
        if alarm is None or due < alarm.at:
            if alarm is not None:
                alarm.cancel()
            self._alarm = self.clock.wake_in(due - now, self._wake, self._spare)
            self._spare = None

    def _drop_alarm(self) -> None:
        """Cancel the pending alarm, if any."""
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None

    def set_cores(self, cores: float) -> None:
        """Change the cores now (capacity faults); running work re-paces."""
        now = self.clock.env._now
        self._advance(now)
        self.cores = cores
        self._drop_alarm()
        self._arm(now)

    def used_until(self, now: float) -> float:
        """CPU core-seconds used up to ``now`` (the current time)."""
        self._advance(now)
        return self.used_s
