"""Request metrics that cannot be gamed by failing fast: ``latency_all_s`` and ``slo``.

Both are computed from the request log's columns (arrival, end, status) over
the requests that *arrived* in an interval ``[start_s, end_s)``:

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

from typing import Mapping

import numpy as np

from ..status import OK, UNFINISHED
from .summary import _num, latency_block


def arrived_in(req: Mapping[str, np.ndarray], start_s: float, end_s: float) -> np.ndarray:
    """Mask of the requests whose arrival lies in ``[start_s, end_s)``."""
    arrival = req["arrival_s"]
    return (arrival >= start_s) & (arrival < end_s)


def latency_all_block(req: Mapping[str, np.ndarray], mask: np.ndarray) -> dict:
    """Mean, p50 … p99.9 and max of end - arrival over the finished requests in ``mask``."""
    done = mask & (req["status"] != UNFINISHED)
    return latency_block(req["end_s"][done] - req["arrival_s"][done])


def _slo_counts(good: np.ndarray, mask: np.ndarray, target: float) -> dict:
    requests = int(mask.sum())
    good_count = int((good & mask).sum())
    bad = requests - good_count
    return {"requests": requests, "good": good_count, "bad": bad,
            "good_ratio": _num(good_count / requests) if requests else None,
            "error_budget_burn": _num(bad / requests / (1.0 - target)) if requests else None}


def slo_block(req: Mapping[str, np.ndarray], mask: np.ndarray, slo,
              workloads: Mapping[str, int]) -> dict:
    """The SLO over ``mask``, then per workload (``workloads``: name -> code in the log)."""
    with np.errstate(invalid="ignore"):  # unfinished requests have end_s = NaN: not good
        good = (req["status"] == OK) & (req["end_s"] - req["arrival_s"] <= slo.latency)
    block: dict = {"latency_s": float(slo.latency), "target": float(slo.target)}
    block.update(_slo_counts(good, mask, slo.target))
    block["workload"] = {name: _slo_counts(good, mask & (req["workload"] == code), slo.target)
                         for name, code in workloads.items()}
    return block
