"""``podsim bench``: the project's benchmarks, in one place.

- :mod:`sim.bench.throughput` (``podsim bench [--json]``): the simulator's
  throughput against a bare SimPy M/M/c on the same random numbers, and the
  reference model in hops per second;
- :mod:`sim.bench.sweep` (``podsim bench --sweep [--json]``): how a sweep
  scales from 1 to 2 jobs and what the store and the executor cost per run;
- :mod:`sim.bench.scale` (``podsim bench --scale [--json]``): seconds and
  peak RSS of the reference model at 2,000 requests/s for 5, 10 and 20
  simulated minutes at ``record: summary`` and ``full``, each in a fresh
  process (memory must not grow with the run at ``summary``).

Only the throughput benchmark is imported here: it must not pull in the
experiment machinery (pandas, the store) it does not use.
"""
from .throughput import bench, format_report, main_json

__all__ = ["bench", "format_report", "main_json"]
