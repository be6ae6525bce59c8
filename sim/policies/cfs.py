"""CFS bandwidth control of a container's CPU limit: the quota arithmetic.

Real system: Linux CFS bandwidth control (kernel
``Documentation/scheduler/sched-bwc.rst``) as the kubelet sets it up for
``resources.limits.cpu`` (``pkg/kubelet/cm/helpers_linux.go``,
``MilliCPUToQuota``): the period is 100 ms (kubelet flag
``--cpu-cfs-quota-period``), the quota is ``limit_millicores x period / 1000``
(integer microseconds, at least 1 ms), written to cgroup v2 ``cpu.max`` as
``"quota period"``.

Model. All threads of the container form one group. Period ``k`` is
``[origin + k*P, origin + (k+1)*P)`` (the cgroup's own timer, not aligned
with arrivals; here ``origin`` is the pod's creation). Within a period the
group consumes quota at ``rate`` core-seconds per second: the cores its
running threads occupy, ``min(running, cpu)``. When the period's quota is
used up, every thread of the group stalls until the next boundary; unused
quota is not carried over (``cpu.max.burst`` 0, the default). A single
thread needing ``S`` of CPU from a boundary therefore finishes at
``S`` if ``S <= q``, else at ``k*P + (S - k*q)`` with ``k = ceil(S/q) - 1``
(200m and 50 ms: 210 ms, where processor sharing at 0.2 core gives 250 ms).
Not modelled: the kernel hands out quota in per-CPU slices of 5 ms
(``sched_cfs_bandwidth_slice_us``), which lets a group overrun or stall a
little early; bursts.

Counters (cumulative, like ``cpu.stat``):

- ``throttled_periods``: periods in which the group stalled: ``nr_throttled``,
  which cAdvisor exports as ``container_cpu_cfs_throttled_periods_total``.
- ``throttled_s``: wall-clock seconds the group spent stalled with work to
  do. The kernel's ``throttled_usec`` (cAdvisor's
  ``container_cpu_cfs_throttled_seconds_total``) adds up the stall of every
  CPU run queue of the group that was throttled, so for a group stalled with
  runnable threads on ``n`` CPUs it reads about ``n x throttled_s``; for a
  single running thread the two agree.

Pure: no SimPy. Time is passed in; :meth:`CfsBandwidth.run` advances the
state over an interval of constant ``rate``, :meth:`CfsBandwidth.finish_time`
answers "when will the threads have run this long" without changing it.
Cost is O(1 + periods crossed) per call, and O(1) over idle stretches.
"""
from __future__ import annotations

import math

DEFAULT_PERIOD_S = 0.1   # kubelet's cpuCFSQuotaPeriod (100 ms)
MIN_QUOTA_S = 0.001      # kubelet's MinQuotaPeriod (1000 us)
_EPS_S = 1e-12           # seconds: quota or time this close to zero counts as zero


def quota_s(limit_cores: float, period_s: float = DEFAULT_PERIOD_S) -> float:
    """The CFS quota per period for a CPU limit, as kubelet's ``MilliCPUToQuota``.

    The limit becomes whole millicores (rounded up, as a Kubernetes quantity's
    ``MilliValue``), the period whole microseconds; the quota is their
    product / 1000 in integer microseconds, at least 1 ms.
    """
    if not limit_cores > 0:
        raise ValueError(f"limit_cores must be > 0, got {limit_cores!r}")
    if not period_s > 0:
        raise ValueError(f"period_s must be > 0, got {period_s!r}")
    millicores = math.ceil(round(limit_cores * 1000.0, 6))
    period_us = round(period_s * 1e6)
    quota_us = millicores * period_us // 1000
    return max(quota_us, round(MIN_QUOTA_S * 1e6)) / 1e6


class CfsBandwidth:
    """The quota state of one container's CPU group, and its throttle counters.

    Invariants: ``0 <= quota_left_s <= quota_s``; the current period is the one
    containing the last time passed to :meth:`run`; counters never decrease.
    """

    __slots__ = ("period_s", "quota_s", "origin_s", "_k", "_end_s", "quota_left_s",
                 "_counted_k", "throttled_periods", "throttled_s")

    def __init__(self, limit_cores: float, period_s: float = DEFAULT_PERIOD_S,
                 origin_s: float = 0.0):
        self.quota_s = quota_s(limit_cores, period_s)
        self.period_s = float(period_s)
        self.origin_s = float(origin_s)
        self._k = 0
        self._end_s = self.origin_s + self.period_s
        self.quota_left_s = self.quota_s
        self._counted_k = -1
        self.throttled_periods = 0
        self.throttled_s = 0.0

    # ------------------------------------------------------------- periods
    def _period_of(self, t_s: float) -> int:
        """Index of the period containing ``t_s``, by the same float boundaries
        (``origin + k * period``) that :meth:`run` uses."""
        origin, period = self.origin_s, self.period_s
        k = max(self._k, int((t_s - origin) // period))
        if origin + k * period > t_s:
            k -= 1
        while origin + (k + 1) * period <= t_s:
            k += 1
        return max(k, self._k)

    def _roll(self, t_s: float) -> None:
        """Move to the period containing ``t_s``; a new period refills the quota."""
        if t_s >= self._end_s:
            self._k = k = self._period_of(t_s)
            self._end_s = self.origin_s + (k + 1) * self.period_s
            self.quota_left_s = self.quota_s

    def throttled_at(self, t_s: float) -> bool:
        """Whether the group is stalled at ``t_s`` (quota of this period used up)."""
        return t_s < self._end_s and self.quota_left_s <= _EPS_S

    # --------------------------------------------------------------- time
    def run(self, t0_s: float, t1_s: float, rate: float) -> float:
        """Advance from ``t0_s`` to ``t1_s`` with the group demanding ``rate``
        cores throughout; return the seconds in which its threads ran (not
        stalled). With ``rate <= 0`` nothing is consumed and nothing stalls."""
        self._roll(t0_s)
        if rate <= 0.0:
            self._roll(t1_s)
            return t1_s - t0_s
        ran_s, t = 0.0, t0_s
        while t < t1_s:
            end = self._end_s
            seg_end = t1_s if t1_s < end else end
            left = self.quota_left_s
            if left > _EPS_S:
                lasts_s = left / rate
                if t + lasts_s >= seg_end - _EPS_S:
                    ran_s += seg_end - t
                    self.quota_left_s = max(0.0, left - rate * (seg_end - t))
                else:
                    ran_s += lasts_s
                    self.quota_left_s = 0.0
                    self._stall(t + lasts_s, seg_end)
            else:
                self._stall(t, seg_end)
            t = seg_end
            self._roll(t)
        return ran_s

    def _stall(self, t0_s: float, t1_s: float) -> None:
        self.throttled_s += t1_s - t0_s
        if self._counted_k != self._k:
            self._counted_k = self._k
            self.throttled_periods += 1

    def finish_time(self, t0_s: float, run_s: float, rate: float) -> float:
        """The time at which threads demanding ``rate`` cores from ``t0_s`` on
        will have run ``run_s`` seconds; the state is not changed."""
        if rate <= 0.0 or run_s <= 0.0:
            return t0_s + max(run_s, 0.0)
        origin, period, quota = self.origin_s, self.period_s, self.quota_s
        if t0_s >= self._end_s:
            k = self._period_of(t0_s)
            end, left = origin + (k + 1) * period, quota
        else:
            k, end, left = self._k, self._end_s, self.quota_left_s
        t, need = t0_s, run_s
        while True:
            room = end - t
            if left > _EPS_S:
                lasts_s = left / rate
                if lasts_s < room:
                    room = lasts_s
            else:
                room = 0.0
            if need <= room + _EPS_S:
                return t + need
            need -= room
            k += 1
            t, end, left = end, origin + (k + 1) * period, quota
