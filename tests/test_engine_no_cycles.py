"""The request path leaves no reference cycles behind: a finished call and
its attempts are freed by reference counting as soon as nothing needs them,
not by Python's cyclic garbage collector (whose collections, triggered by the
allocations of every hop, used to cost a tenth of a reference run)."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

import sim

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("model", ["mmc.yaml", "reference.yaml", "retry-storm.yaml"])
def test_finished_attempts_need_no_garbage_collector(model):
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = sim.run(str(MODELS / model), seed=1, overrides={"duration": "2m", "warmup": "0s"})
        hops = len(result.calls)
        del result
        gc.collect()
        cyclic = sum(1 for o in gc.garbage if type(o).__name__ == "Attempt")
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    # only attempts still in flight when the run stopped (held by the model's
    # own cycles: pods, queues, CPU heaps) may be left for the collector
    assert hops > 500
    assert cyclic < 0.02 * hops, (cyclic, hops)
