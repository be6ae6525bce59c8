"""Envoy outlier detection, consecutive-5xx ejection only.

Imitates ``source/common/upstream/outlier_detection_impl.cc`` (``DetectorImpl``,
``DetectorHostMonitorImpl``) and ``docs/root/intro/arch_overview/upstream/outlier.rst``
of current Envoy (1.31+):

* A failed result (5xx, or a local-origin error mapped to 5xx: the default
  without ``split_external_local_origin_errors``) increments the host's
  consecutive counter; a success resets it. When the counter reaches
  ``consecutive_5xx`` exactly, the detector tries to eject the host and resets
  the counter, whether or not the ejection went through. A host already
  ejected is left alone (and its counter is not reset).
* ``max_ejection_percent`` is checked against the percentage *after* this
  ejection: eject iff ``100 * (ejected + 1) / hosts <= max_ejection_percent``
  (envoyproxy/envoy#27624, #27909), or, with ``always_eject_one_host``, when
  no host is ejected yet (#34796, off by default). So with the defaults a
  cluster of fewer than 10 hosts ejects nothing.
* The ejection time is ``min(base_ejection_time * m, max_ejection_time)``
  where the multiplier ``m`` (Envoy's ``eject_time_backoff``) grows by one at
  each ejection while ``m * base < max + base``, and shrinks by one at every
  interval tick during which the host is not ejected.
* Hosts are returned to service only by the interval timer: :meth:`tick`,
  which the simulator calls every ``interval_s``. Un-ejection resets the
  consecutive counter.

Enforcement is always 100% (``enforcing_consecutive_5xx`` default) and there
is no jitter (``max_ejection_time_jitter`` default 0), so no randomness is
needed. ``host`` is any hashable id.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Optional


@dataclass
class _HostMonitor:
    consecutive_5xx: int = 0
    ejected: bool = False
    ejected_at_s: float = 0.0
    num_ejections: int = 0
    eject_time_multiplier: int = 0


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class OutlierDetector:
    """Per-cluster consecutive-5xx outlier detector; durations in seconds."""

    def __init__(self, consecutive_5xx: int = 5, interval_s: float = 10.0,
                 base_ejection_time_s: float = 30.0, max_ejection_percent: float = 10.0,
                 max_ejection_time_s: float = 300.0, always_eject_one_host: bool = False):
        if isinstance(consecutive_5xx, bool) or not isinstance(consecutive_5xx, int) \
                or consecutive_5xx < 1:
            raise ValueError(f"consecutive_5xx must be an int >= 1, got {consecutive_5xx!r}")
        self.consecutive_5xx = consecutive_5xx
        self.interval_s = _positive("interval_s", interval_s)
        self.base_ejection_time_s = _positive("base_ejection_time_s", base_ejection_time_s)
        self.max_ejection_time_s = _positive("max_ejection_time_s", max_ejection_time_s)
        if self.max_ejection_time_s < self.base_ejection_time_s:
            raise ValueError("max_ejection_time_s cannot be smaller than base_ejection_time_s")
        if isinstance(max_ejection_percent, bool) \
                or not isinstance(max_ejection_percent, (int, float)) \
                or not 0 <= max_ejection_percent <= 100:
            raise ValueError("max_ejection_percent must be in [0, 100], "
                             f"got {max_ejection_percent!r}")
        self.max_ejection_percent = float(max_ejection_percent)
        if not isinstance(always_eject_one_host, bool):
            raise ValueError("always_eject_one_host must be a bool")
        self.always_eject_one_host = always_eject_one_host
        self._hosts: dict[Hashable, _HostMonitor] = {}
        self._ejected = 0
        self.ejections_overflow = 0
        self._now_s = -math.inf

    # ------------------------------------------------------------- membership
    def add_host(self, host: Hashable) -> None:
        if host in self._hosts:
            raise ValueError(f"host {host!r} is already monitored")
        self._hosts[host] = _HostMonitor()

    def remove_host(self, host: Hashable) -> None:
        monitor = self._monitor(host)
        self._ejected -= monitor.ejected
        del self._hosts[host]

    @property
    def hosts(self) -> tuple[Hashable, ...]:
        return tuple(self._hosts)

    # ---------------------------------------------------------------- results
    def on_result(self, host: Hashable, now_s: float, ok: bool) -> bool:
        """Record one response from ``host``; True if it ejected the host.

        Results for a host no longer monitored are ignored, as Envoy does when
        a response outlives its host.
        """
        self._observe(now_s)
        monitor = self._hosts.get(host)
        if monitor is None:
            return False
        if ok:
            monitor.consecutive_5xx = 0
            return False
        monitor.consecutive_5xx += 1
        if monitor.consecutive_5xx != self.consecutive_5xx or monitor.ejected:
            return False
        ejected = self._try_eject(monitor, now_s)
        monitor.consecutive_5xx = 0
        return ejected

    def is_ejected(self, host: Hashable, now_s: float) -> bool:
        """The ejection flag as of the last :meth:`tick` (Envoy only un-ejects there)."""
        self._observe(now_s)
        return self._monitor(host).ejected

    def ejection_time_s(self, host: Hashable) -> Optional[float]:
        """How long the current ejection of ``host`` lasts (None if not ejected)."""
        monitor = self._monitor(host)
        return self._ejection_time_s(monitor) if monitor.ejected else None

    def ejection_multiplier(self, host: Hashable) -> int:
        """Envoy's ``eject_time_backoff`` for ``host``."""
        return self._monitor(host).eject_time_multiplier

    def num_ejections(self, host: Hashable) -> int:
        return self._monitor(host).num_ejections

    @property
    def ejected_count(self) -> int:
        return self._ejected

    # ------------------------------------------------------------------ timer
    def tick(self, now_s: float) -> list[Hashable]:
        """The interval timer: return to service the hosts whose ejection time
        has elapsed (they are returned), decrement the multiplier of the rest."""
        self._observe(now_s)
        returned = []
        for host, monitor in self._hosts.items():
            if not monitor.ejected:
                monitor.eject_time_multiplier = max(0, monitor.eject_time_multiplier - 1)
            elif self._ejection_time_s(monitor) <= now_s - monitor.ejected_at_s:
                monitor.ejected = False
                monitor.consecutive_5xx = 0
                self._ejected -= 1
                returned.append(host)
        return returned

    # -------------------------------------------------------------- internals
    def _try_eject(self, monitor: _HostMonitor, now_s: float) -> bool:
        percent_after = 100.0 * (self._ejected + 1) / len(self._hosts)
        first_one = self.always_eject_one_host and self._ejected == 0
        if percent_after > self.max_ejection_percent and not first_one:
            self.ejections_overflow += 1
            return False
        monitor.ejected = True
        monitor.ejected_at_s = now_s
        monitor.num_ejections += 1
        self._ejected += 1
        base, cap = self.base_ejection_time_s, self.max_ejection_time_s
        if monitor.eject_time_multiplier * base < cap + base:
            monitor.eject_time_multiplier += 1
        return True

    def _ejection_time_s(self, monitor: _HostMonitor) -> float:
        return min(self.base_ejection_time_s * monitor.eject_time_multiplier,
                   self.max_ejection_time_s)

    def _monitor(self, host: Hashable) -> _HostMonitor:
        try:
            return self._hosts[host]
        except KeyError:
            raise KeyError(f"host {host!r} is not monitored") from None

    def _observe(self, now_s: float) -> None:
        if now_s < self._now_s:
            raise ValueError(f"time went backwards: {now_s} < {self._now_s}")
        self._now_s = now_s
