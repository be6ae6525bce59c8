"""The pod's CPU disciplines and CPU limit, by exact event logs.

Ground truth derived by hand from the rules imitated (``sim.engine.cpu.go``:
Go's run queue with GOMAXPROCS and a 10 ms quantum; ``sim.engine.cpu.ps``:
processor sharing; ``sim.policies.cfs``: kubelet's CFS quota). Two users of a
closed loop with a constant 1 s think time send their first requests at
exactly t = 1 s (a multiple of the 100 ms CFS period from the pods' creation
at 0); no network latency, so the pod's ``done_s`` is the completion time.
"""
from __future__ import annotations

import pytest

import sim
from sim.errors import ScenarioError

MS = 1e-3


def two_at_once(pod: dict, users: int = 2, duration: float = 1.9) -> dict:
    pod = {"workers": 16, **pod}
    return {"name": "cpu", "duration": duration, "sample_interval": 0.1,
            "workload": {"users": {"target": "web", "users": users, "think_time": "1s"}},
            "services": {"web": {"pod": pod}}}


def done_ms(result) -> list[float]:
    """Completion times at the pod, ms after t = 1 s, in order."""
    calls = result.calls
    return sorted(round((t - 1.0) / MS, 6) for t in calls["done_s"].dropna())


def approx_ms(values, expected):
    return values == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------- Go's run queue
def test_short_steps_run_to_completion_in_arrival_order():
    """GOMAXPROCS 1, 5 ms each: FCFS, done at 5 and 10 ms (PS: both at 10)."""
    result = sim.run(two_at_once({"cpu": 1, "work": "5ms"}))
    assert approx_ms(done_ms(result), [5, 10])
    ps = sim.run(two_at_once({"cpu": 1, "work": "5ms", "scheduler": {"type": "ps"}}))
    assert approx_ms(done_ms(ps), [10, 10])


def test_long_steps_take_turns_by_quantum():
    """30 ms each, 10 ms quantum: A 0-10, B 10-20, A 20-30, B 30-40, A 40-50
    (done), B 50-60 (done)."""
    result = sim.run(two_at_once({"cpu": 1, "work": "30ms", "scheduler": {"type": "go"}}))
    assert approx_ms(done_ms(result), [50, 60])
    started = sorted(round((t - 1.0) / MS, 6) for t in result.calls["started_s"])
    assert approx_ms(started, [0, 0])  # both hold a worker at once; the CPU is what they share


def test_a_goroutine_alone_keeps_its_slice_rhythm():
    """A (30 ms) at 1.000 runs alone; B (30 ms) arrives at 1.015. With nobody
    waiting A was rescheduled at 10 ms, so its slice ends at 20 ms, not at
    B's arrival: A 0-20, B 20-30, A 30-40 (done), B 40-60 (done)."""
    arrivals = {"profile": [{"at": 0, "rate": 0}, {"at": 0.985, "rate": 1 / 0.015},
                            {"at": 1.02, "rate": 0}], "process": "deterministic"}
    spec = {"name": "cpu", "duration": 1.5,
            "workload": {"w": {"target": "web", "arrivals": arrivals}},
            "services": {"web": {"pod": {"cpu": 1, "workers": 4, "work": "30ms"}}}}
    result = sim.run(spec)
    assert result.calls["arrived_s"].round(9).tolist() == [1.0, 1.015]
    assert approx_ms(done_ms(result), [40, 60])


def test_quantum_is_configurable():
    """30 ms each with a 25 ms quantum: A 0-25, B 25-50, A 50-55, B 55-60."""
    result = sim.run(two_at_once({"cpu": 1, "work": "30ms",
                                  "scheduler": {"type": "go", "quantum": "25ms"}}))
    assert approx_ms(done_ms(result), [55, 60])


def test_three_goroutines_rotate_fifo():
    """Three of 20 ms, quantum 10 ms: A B C A(done 40) B(done 50) C(done 60)."""
    result = sim.run(two_at_once({"cpu": 1, "work": "20ms"}, users=3))
    assert approx_ms(done_ms(result), [40, 50, 60])


def test_more_procs_than_cores_share_the_cores():
    """GOMAXPROCS 2 on one core: both run at once, each at half a core."""
    result = sim.run(two_at_once({"cpu": 1, "gomaxprocs": 2, "work": "30ms"}))
    assert approx_ms(done_ms(result), [60, 60])


def test_procs_on_their_own_cores():
    """2 cores, GOMAXPROCS 2 (the default, ceil(cpu)): each on its own core."""
    result = sim.run(two_at_once({"cpu": 2, "work": "30ms"}))
    assert approx_ms(done_ms(result), [30, 30])


def test_fractional_core_slows_the_one_running():
    """cpu 500m: GOMAXPROCS 1 (ceil), and the running goroutine gets half a core."""
    result = sim.run(two_at_once({"cpu": "500m", "work": "5ms"}))
    assert approx_ms(done_ms(result), [10, 20])


def test_cpu_used_is_the_work_whatever_the_discipline():
    for scheduler in ("go", "ps"):
        result = sim.run(two_at_once({"cpu": 1, "work": "30ms", "scheduler": scheduler}))
        svc = result.summary["services"]["web"]
        # 60 ms of CPU over 1.9 s of one running pod, measured against 1 core
        assert svc["cpu_utilization"] == pytest.approx(0.060 / 1.9, abs=1e-9)


# ---------------------------------------------------------------- overhead_cpu
def test_overhead_runs_as_its_own_goroutine_before_the_pool():
    """1 ms of connection overhead each, then 2 ms of work, one P. FIFO run
    queue: A's overhead 0-1, B's overhead 1-2 (queued before A's work), A's
    work 2-4, B's work 4-6. A takes its worker at 1, B at 2."""
    result = sim.run(two_at_once({"cpu": 1, "work": "2ms", "overhead_cpu": "1ms"}))
    assert approx_ms(done_ms(result), [4, 6])
    started = sorted(round((t - 1.0) / MS, 6) for t in result.calls["started_s"])
    assert approx_ms(started, [1, 2])
    svc = result.summary["services"]["web"]
    assert svc["cpu_utilization"] == pytest.approx(0.006 / 1.9, abs=1e-9)


def test_overhead_under_processor_sharing():
    """PS: both overheads share the core (done at 2), then both works (done at 6)."""
    result = sim.run(two_at_once({"cpu": 1, "work": "2ms", "overhead_cpu": "1ms",
                                  "scheduler": "ps"}))
    assert approx_ms(done_ms(result), [6, 6])


def test_a_crash_ends_attempts_still_in_their_overhead():
    """5 ms overhead, 30 ms work, one worker; three requests at 1.000; the
    container crashes at 12 ms. A: overhead 0-5, takes the worker; B:
    overhead 5-10, queued for the worker; C: in its overhead (10-15). All
    three end with error/pod_killed; only A ever started."""
    spec = two_at_once({"cpu": 1, "workers": 1, "work": "30ms", "overhead_cpu": "5ms"}, users=3)
    spec["faults"] = [{"kind": "crash", "service": "web", "at": 1.012}]
    calls = sim.run(spec).calls
    assert calls["status"].astype(str).tolist() == ["error"] * 3
    assert calls["reason"].astype(str).tolist() == ["pod_killed"] * 3
    assert approx_ms(sorted(((calls["started_s"].dropna() - 1.0) / MS).round(6)), [5])


# ---------------------------------------------------------------- CFS limit
def test_cfs_limit_stalls_until_the_next_period():
    """200m limit, one 50 ms request from a period boundary: runs 20 ms of
    quota per 100 ms period: done at 210 ms (PS at 0.2 core would say 250),
    stalled in 2 periods for 160 ms."""
    result = sim.run(two_at_once({"cpu": 1, "cpu_limit": "200m", "work": "50ms"}, users=1))
    assert approx_ms(done_ms(result), [210])
    svc = result.summary["services"]["web"]
    assert svc["throttled_periods"] == 2
    assert svc["throttled_s"] == pytest.approx(0.160, abs=1e-9)
    ts = result.timeseries
    assert ts["throttled_periods"].sum() == 2
    assert ts["throttled_s"].sum() == pytest.approx(0.160, abs=1e-9)
    assert ts.loc[ts["throttled_periods"] > 0, "t_s"].round(6).tolist() == [1.1, 1.2]


@pytest.mark.parametrize("scheduler", ["go", "ps"])
def test_without_a_limit_nothing_is_throttled(scheduler):
    result = sim.run(two_at_once({"cpu": 1, "work": "50ms", "scheduler": scheduler}, users=1))
    assert approx_ms(done_ms(result), [50])
    svc = result.summary["services"]["web"]
    assert svc["throttled_periods"] == 0 and svc["throttled_s"] == 0.0
    assert (result.timeseries["throttled_periods"] == 0).all()


def test_cfs_with_processor_sharing():
    """PS under a 200m limit: the two 50 ms requests share one core; the group
    burns 20 ms of quota per period at rate 1 (10 ms each): 100 ms of CPU
    takes 4 stalled periods and 20 ms of the fifth: both done at 420 ms."""
    result = sim.run(two_at_once({"cpu": 1, "cpu_limit": "200m", "work": "50ms",
                                  "scheduler": "ps"}))
    assert approx_ms(done_ms(result), [420, 420])
    assert result.summary["services"]["web"]["throttled_periods"] == 4


def test_cpu_request_defaults_to_the_limit():
    """As in Kubernetes, requests default to limits: utilization is measured
    against cpu_limit (0.2), not the pod's cores."""
    result = sim.run(two_at_once({"cpu": 1, "cpu_limit": "200m", "work": "50ms"}, users=1))
    util = result.summary["services"]["web"]["cpu_utilization"]
    assert util == pytest.approx(0.050 / (0.2 * 1.9), abs=1e-9)


def four_at_once(gomaxprocs: int) -> dict:
    return two_at_once({"cpu": 4, "cpu_limit": 1, "gomaxprocs": gomaxprocs, "work": "50ms"},
                       users=4)


def test_gomaxprocs_at_the_node_cores_throttles_more_than_at_the_limit():
    """cpu 4 (node cores), limit 1 (q = 100 ms), four 50 ms requests at once.

    GOMAXPROCS 4 (Go before 1.25): four threads burn the quota at 4 cores:
    25 ms each, stall 75 ms, 25 ms more: all done at 125 ms, 1 throttled period.
    GOMAXPROCS 1: round robin by 10 ms slices at one core, which the quota
    always covers: done at 170, 180, 190, 200 ms, never throttled.
    GOMAXPROCS 2 (Go 1.25's default here): pairs alternate by slices (AB, CD,
    AB, CD, AB) and use the quota up at 50 ms; stalled to 100; then CD, AB
    (A, B done at 140), CD (done at 150): 1 throttled period of 50 ms."""
    wide = sim.run(four_at_once(4))
    assert approx_ms(done_ms(wide), [125] * 4)
    narrow = sim.run(four_at_once(1))
    assert approx_ms(done_ms(narrow), [170, 180, 190, 200])
    default = sim.run(two_at_once({"cpu": 4, "cpu_limit": 1, "work": "50ms"}, users=4))
    assert approx_ms(done_ms(default), [140, 140, 150, 150])
    periods = [r.summary["services"]["web"]["throttled_periods"] for r in (wide, narrow, default)]
    stalled = [r.summary["services"]["web"]["throttled_s"] for r in (wide, narrow, default)]
    assert periods == [1, 0, 1]
    assert stalled == pytest.approx([0.075, 0.0, 0.050], abs=1e-9)


# ---------------------------------------------------------------- spec
@pytest.mark.parametrize("cpu,limit,expected", [
    (16, "200m", 2), (16, "2500m", 3), (16, None, 16),  # semantics-next section 7 vectors
    (1, "200m", 1), ("500m", None, 1), (4, 1, 2), (4, 8, 4),
])
def test_gomaxprocs_follows_go_1_25(cpu, limit, expected):
    pod = {"cpu": cpu, "work": "1ms"}
    if limit is not None:
        pod["cpu_limit"] = limit
    spec = sim.load(two_at_once(pod)).services["web"].pod
    assert spec.effective_gomaxprocs == expected
    assert sim.load(two_at_once({**pod, "gomaxprocs": 7})).services["web"].pod.effective_gomaxprocs == 7


@pytest.mark.parametrize("field,value,message", [
    ("cpu_limit", 0, "services.web.pod.cpu_limit"),
    ("gomaxprocs", 0, "services.web.pod.gomaxprocs"),
    ("scheduler", {"type": "go", "quantum": 0}, "services.web.pod.scheduler.quantum"),
    ("scheduler", {"type": "fifo"}, "services.web.pod.scheduler.type"),
    ("cfs_period", "2s", "services.web.pod.cfs_period"),
    ("overhead_cpu", "-1ms", "services.web.pod.overhead_cpu"),
])
def test_bad_cpu_keys_name_the_field(field, value, message):
    with pytest.raises(ScenarioError) as err:
        sim.load(two_at_once({"work": "1ms", field: value}))
    assert message in str(err.value)
