"""In-process Go channels (issue 13, part 2): the seed's event bus.

A publisher channel fanned out by a dispatcher goroutine to each
subscriber's channel, drained by the subscriber's goroutines. Exact times
from deterministic scenarios (Go's channel semantics derived by hand), and
conservation of events.
"""
from __future__ import annotations

import pytest

import sim


def bus_scenario(*, main_capacity=0, sub_capacity=0, consumers=1, on_full="block", rate=10.0,
                 duration=3.0, sub_work="1s", extra_sub=None, faults=()) -> dict:
    """``orders`` (no work) publishes one event per request to ``events``;
    subscriber ``slow`` computes ``sub_work`` per event on plenty of cores.
    Deterministic arrivals: request k at k/rate (k = 1, 2, ...)."""
    subscribers = {"slow": {"capacity": sub_capacity, "consumers": consumers, "work": sub_work}}
    subscribers.update(extra_sub or {})
    return {"name": "bus", "duration": duration, "sample_interval": 0.5,
            "workload": {"users": {"target": "orders",
                                   "arrivals": {"rate": rate, "process": "deterministic"}}},
            "services": {"orders": {"pod": {"cpu": 64, "workers": 64, "queue": None, "work": 0},
                                    "calls": [{"publish": "events"}],
                                    "channels": {"events": {"capacity": main_capacity, "on_full": on_full,
                                                            "subscribers": subscribers}}}},
            "faults": list(faults)}


def channel(result, name="events") -> dict:
    return result.summary["services"]["orders"]["channels"][name]


def test_unbuffered_channels_drop_what_nobody_can_take():
    """Events at 0.1, 0.2, ..., 1.0 s; one goroutine busy 1 s per event.
    0.1: the goroutine takes it (till 1.1). 0.2: the dispatcher takes it and
    blocks on the subscriber. 0.3 .. 1.0: nobody can take them: dropped (8).
    The run ends at 1.05 s, before the first event is processed."""
    result = sim.run(bus_scenario(on_full="drop", duration=1.05), seed=1)
    c = channel(result)
    assert (c["published"], c["dropped"], c["blocked"]) == (10, 8, 0)
    assert c["subscribers"]["slow"]["processed"] == 0   # the first finishes at 1.1, after the run


def test_a_blocked_send_holds_its_request_until_the_dispatcher_moves_on():
    """on_full: block. Request 1 (0.1 s) and 2 (0.2 s) send at once (goroutine,
    dispatcher). Request 3 (0.3 s) waits until the dispatcher hands event 2 to
    the goroutine at 1.1 s; request 4 (0.4 s) until event 3 is handed over at
    2.1 s; request 5 (0.5 s) until 3.1 s, after the run."""
    result = sim.run(bus_scenario(duration=3.05, rate=10, sub_work="1s"), seed=1)
    req = result.requests.sort_values("arrival_s")
    ended = dict(zip(req["arrival_s"].round(9), req["end_s"]))
    assert ended[0.1] == pytest.approx(0.1) and ended[0.2] == pytest.approx(0.2)
    assert ended[0.3] == pytest.approx(1.1) and ended[0.4] == pytest.approx(2.1)
    assert req.loc[req["arrival_s"] > 0.45, "status"].astype(str).eq("unfinished").all()
    assert channel(result)["blocked"] >= 3


def test_buffers_and_goroutines_add_up_to_what_is_held_before_a_send_blocks():
    """Publisher buffer 3 (+1 in the dispatcher's hands), subscriber buffer 2,
    2 goroutines: 3 + 1 + 2 + 2 = 8 events are taken before the 9th send
    blocks (no event finishes within the first second)."""
    result = sim.run(bus_scenario(main_capacity=3, sub_capacity=2, consumers=2, rate=10,
                                  duration=1.02, sub_work="10s"), seed=1)
    req = result.requests
    done_at_once = (req["end_s"] - req["arrival_s"]).abs() < 1e-9
    assert int(done_at_once.sum()) == 8
    ts = result.timeseries
    assert ts.loc[ts["service"] == "orders", "channel_length"].max() == 3 + 1 + 2


def test_every_subscriber_gets_every_event():
    extra = {"audit": {"capacity": 100, "consumers": 4, "work": "1ms"}}
    result = sim.run(bus_scenario(main_capacity=100, sub_capacity=100, consumers=4, sub_work="2ms",
                                  rate=200, duration=10, extra_sub=extra), seed=3)
    c = channel(result)
    assert c["dropped"] == c["blocked"] == c["lost"] == 0
    held = result.timeseries["channel_length"].dropna().iloc[-1]
    for sub in ("slow", "audit"):
        assert c["subscribers"][sub]["processed"] + held >= c["published"] - 8   # in flight at the end
        assert c["subscribers"][sub]["processed"] <= c["published"]
    assert c["subscribers"]["audit"]["processed"] > 1900


def test_a_dead_container_loses_what_its_channels_held():
    crash = {"kind": "crash", "service": "orders", "at": 2.55, "pods": 1}
    result = sim.run(bus_scenario(main_capacity=5, sub_capacity=5, consumers=1, rate=10,
                                  duration=3.0, sub_work="1s", on_full="drop", faults=[crash]), seed=1)
    c = channel(result)
    # by 2.55 s: events at 0.1 .. 2.5 (25); the goroutine finished 0.1 (1.1) and 0.2 (2.1) and
    # holds 0.3; the subscriber buffer holds 5 (0.4 .. 0.8), the dispatcher 0.9, the publisher
    # buffer 5 (1.0 .. 1.4); 1.5 .. 2.5 were dropped (11). Lost: 1 + 5 + 1 + 5 = 12.
    assert c["subscribers"]["slow"]["processed"] == 2
    assert c["dropped"] == 11
    assert c["lost"] == 12
    # the container restarts at once (CrashLoopBackOff's first restart, no startup):
    # requests at 2.6 .. 2.9 s publish to its new, empty channels
    assert c["published"] == 25 + 4
