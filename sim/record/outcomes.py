"""Request metrics that cannot be gamed by failing fast: ``latency_all_s`` and ``slo``.

Both are computed from a :class:`~sim.record.tallies.RequestTally`: the
requests that *arrived* in an interval ``[start_s, end_s)``:

- ``latency_all_s``: end-to-end time of every *finished* request, whatever its
  status; a failure counts at the moment its caller saw it fail (after its
  retries). A request still in flight at the end of the run has no latency.
- ``slo``: ``good`` = ended ``ok`` within the SLO's latency; ``bad`` = every
  other request that arrived, **unfinished ones included** (so
  ``good + bad == requests``); ``good_ratio = good / requests``;
  ``error_budget_burn = (bad / requests) / (1 - target)`` (1 spends the error
  budget exactly; 10 spends it ten times over). The same numbers per workload
  under ``slo.workload.NAME``.
"""
from __future__ import annotations

from .summary import _num, latency_block
from .tallies import RequestTally


def latency_all_block(tally: RequestTally) -> dict:
    """Mean, p50 … p99.9 and max of end - arrival over the tally's finished requests."""
    return latency_block(tally.latency_all)


def _slo_counts(requests: int, good: int, target: float) -> dict:
    bad = requests - good
    return {"requests": requests, "good": good, "bad": bad,
            "good_ratio": _num(good / requests) if requests else None,
            "error_budget_burn": _num(bad / requests / (1.0 - target)) if requests else None}


def slo_block(tally: RequestTally, slo) -> dict:
    """The SLO over the tally's requests, then per workload."""
    block: dict = {"latency_s": float(slo.latency), "target": float(slo.target)}
    block.update(_slo_counts(tally.total, tally.good, slo.target))
    block["workload"] = {name: _slo_counts(requests, good, slo.target)
                         for name, (requests, good) in tally.by_workload.items()}
    return block
