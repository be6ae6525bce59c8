"""The time series: a slow loop that records the levels of every service
(replicas, queue lengths, CPU seconds, open breakers, ...) into the samples
log, which becomes ``timeseries.parquet``.

(Not to be confused with :meth:`sim.engine.rng.Streams.sampler`, which draws
random variates.) It runs as a generator process (one event per interval), at
multiples of ``sample_interval`` and once at the end of warm-up, so window
totals (CPU seconds) can be read off exactly.
"""
from __future__ import annotations


def timeseries_process(env, services, samples, times_s: list[float]):
    """Record every service's levels at each of ``times_s`` (the recorder's
    :func:`sim.record.series.sample_times_s`) before the last one, the horizon.

    The row at the horizon itself is recorded by :func:`record_levels` after
    the run stops (SimPy's ``run(until)`` stops before events at that instant).
    """
    for t in times_s[:-1]:
        if t > env.now:
            yield env.timeout(t - env.now)
        record_levels(env, services, samples)


def record_levels(env, services, samples) -> None:
    """Append one row per service with its levels at the current time."""
    for service in services:
        samples.append(env.now, service.index, service.levels())
