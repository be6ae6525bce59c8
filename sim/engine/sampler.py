"""The time-series sampler: a slow loop that records levels of every service.

It runs as a generator process (one event per interval), at multiples of
``sample_interval`` and once at the end of warm-up, so window totals (CPU
seconds) can be read off exactly.
"""
from __future__ import annotations


def sampler_process(env, services, samples, interval_s: float, warmup_s: float, horizon_s: float):
    """Record every service's levels at each sample time before the horizon.

    The sample at the horizon itself is taken by :func:`sample_now` after the
    run stops (SimPy's ``run(until)`` stops before events at that instant).
    """
    times = sorted({*(i * interval_s for i in range(1, int(horizon_s // interval_s) + 1)),
                    warmup_s} - {0.0, horizon_s})
    for t in times:
        if t >= horizon_s:
            return
        if t > env.now:
            yield env.timeout(t - env.now)
        sample_now(env, services, samples)


def sample_now(env, services, samples) -> None:
    """Append one row per service with its levels at the current time."""
    for service in services:
        samples.append(env.now, service.index, service.levels())
