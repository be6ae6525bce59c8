"""Tests for sim.policies.probes, ported from pkg/kubelet/prober/worker_test.go."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.probes import (
    CrashLoopBackOff,
    ProbeConfig,
    ProbeResultTracker,
    ProbeSchedule,
)

S, F = True, False


def run(tracker, results, **kw):
    return [tracker.observe(r, **kw) for r in results]


# --- ProbeConfig -----------------------------------------------------------

def test_from_k8s_defaults_match_set_defaults_probe():
    c = ProbeConfig.from_k8s({"httpGet": {"path": "/", "port": 80}})
    assert (c.initial_delay_seconds, c.period_seconds, c.timeout_seconds,
            c.success_threshold, c.failure_threshold,
            c.termination_grace_period_seconds) == (0, 10, 1, 1, 3, None)


def test_from_k8s_verbatim_fields_and_zero_means_default():
    c = ProbeConfig.from_k8s({"initialDelaySeconds": 5, "periodSeconds": 0,
                              "timeoutSeconds": 2, "successThreshold": 0,
                              "failureThreshold": 30,
                              "terminationGracePeriodSeconds": 7}, kind="liveness")
    assert c == ProbeConfig(5, 10, 2, 1, 30, 7)


@pytest.mark.parametrize("field", ["initialDelaySeconds", "periodSeconds", "timeoutSeconds",
                                   "successThreshold", "failureThreshold"])
def test_from_k8s_negative_names_field(field):
    with pytest.raises(ValueError, match=field):
        ProbeConfig.from_k8s({field: -1})


def test_from_k8s_rejects_unknown_and_non_int():
    with pytest.raises(ValueError, match="periodSecond"):
        ProbeConfig.from_k8s({"periodSecond": 3})
    with pytest.raises(ValueError, match="timeoutSeconds"):
        ProbeConfig.from_k8s({"timeoutSeconds": 1.5})
    with pytest.raises(ValueError, match="terminationGracePeriodSeconds"):
        ProbeConfig.from_k8s({"terminationGracePeriodSeconds": 0}, kind="liveness")


@pytest.mark.parametrize("kind", ["liveness", "startup"])
def test_success_threshold_must_be_one_for_liveness_and_startup(kind):
    with pytest.raises(ValueError, match="successThreshold"):
        ProbeConfig.from_k8s({"successThreshold": 2}, kind=kind)
    with pytest.raises(ValueError, match="successThreshold"):
        ProbeResultTracker(kind, ProbeConfig(success_threshold=3))
    ProbeConfig.from_k8s({"successThreshold": 2}, kind="readiness")


def test_readiness_rejects_termination_grace_period():
    with pytest.raises(ValueError, match="terminationGracePeriodSeconds"):
        ProbeConfig.from_k8s({"terminationGracePeriodSeconds": 30}, kind="readiness")


def test_direct_construction_validates_and_kind_checked():
    with pytest.raises(ValueError, match="periodSeconds"):
        ProbeConfig(period_seconds=0)
    with pytest.raises(ValueError, match="kind"):
        ProbeResultTracker("bogus", ProbeConfig())


def test_probe_succeeds_respects_timeout():
    c = ProbeConfig(timeout_seconds=1)
    assert c.probe_succeeds(True, 0.9)
    assert not c.probe_succeeds(True, 1.5)
    assert not c.probe_succeeds(False, 0.1)


# --- ProbeResultTracker (worker_test.go) -----------------------------------

def test_brief_readiness_sequence():
    t = ProbeResultTracker("readiness", ProbeConfig(success_threshold=1, failure_threshold=3))
    assert run(t, [S, S, S, F, F, F, F, F]) == [S, S, S, S, S, F, F, F]


def test_initial_results_by_probe_kind():
    """Upstream: pkg/kubelet/prober/worker_test.go TestInitialDelay."""
    assert ProbeResultTracker("liveness", ProbeConfig()).published is True
    assert ProbeResultTracker("readiness", ProbeConfig()).published is False
    assert ProbeResultTracker("startup", ProbeConfig()).published is None


def test_readiness_fails_only_after_failure_threshold_in_a_row():
    """Upstream: pkg/kubelet/prober/worker_test.go TestFailureThreshold."""
    t = ProbeResultTracker("readiness", ProbeConfig(success_threshold=1, failure_threshold=3))
    for _ in range(2):
        assert run(t, [S] * 3) == [S] * 3
        assert run(t, [F] * 2) == [S] * 2
        assert run(t, [F] * 3) == [F] * 3


def test_readiness_succeeds_only_after_success_threshold_in_a_row():
    """Upstream: pkg/kubelet/prober/worker_test.go TestSuccessThreshold."""
    t = ProbeResultTracker("readiness", ProbeConfig(success_threshold=3, failure_threshold=1))
    for _ in range(2):
        assert run(t, [S] * 2) == [F] * 2
        assert run(t, [S] * 3) == [S] * 3
        assert run(t, [F]) == [F]


@pytest.mark.parametrize("kind", ["liveness", "startup"])
def test_failed_liveness_or_startup_holds_until_restart(kind):
    """Upstream: pkg/kubelet/prober/worker_test.go TestOnHoldOnLivenessOrStartupCheckFailure."""
    t = ProbeResultTracker(kind, ProbeConfig(success_threshold=1, failure_threshold=1))
    assert t.observe(F) is False and t.on_hold
    assert t.observe(S) is False and t.on_hold  # while on hold
    t.on_container_restart()
    assert t.observe(S) is True
    assert t.on_hold == (kind == "startup")  # startup holds after success too


def test_liveness_result_run_counts_consecutive_failures():
    """Upstream: pkg/kubelet/prober/worker_test.go TestResultRunOnLivenessCheckFailure."""
    t = ProbeResultTracker("liveness", ProbeConfig(failure_threshold=3))
    assert (t.observe(S), t.result_run) == (S, 1)
    assert (t.observe(F), t.result_run) == (S, 1)
    assert (t.observe(F), t.result_run) == (S, 2)
    assert (t.observe(F), t.result_run) == (F, 0)


def test_startup_fails_after_threshold_and_holds():
    """Upstream: pkg/kubelet/prober/worker_test.go TestResultRunOnStartupCheckFailure, TestStartupProbeFailureThreshold."""
    t = ProbeResultTracker("startup", ProbeConfig(failure_threshold=3))
    assert (t.observe(F), t.result_run) == (None, 1)
    assert (t.observe(F), t.result_run) == (None, 2)
    assert (t.observe(F), t.result_run) == (F, 0)
    assert t.on_hold


def test_startup_success_holds_the_startup_probe():
    """Upstream: pkg/kubelet/prober/worker_test.go TestStartupProbeSuccessThreshold."""
    t = ProbeResultTracker("startup", ProbeConfig(success_threshold=1, failure_threshold=3))
    assert not t.on_hold
    assert t.observe(S) is True
    assert t.on_hold and t.result_run == 0


def test_liveness_not_probed_before_container_started():
    """Upstream: pkg/kubelet/prober/worker_test.go TestLivenessProbeDisabledByStarted."""
    t = ProbeResultTracker("liveness", ProbeConfig(failure_threshold=1))
    assert t.observe(F, container_started=False) is True  # not probed yet
    assert t.observe(F, container_started=True) is False


def test_startup_not_probed_after_container_started():
    """Upstream: pkg/kubelet/prober/worker_test.go TestStartupProbeDisabledByStarted."""
    t = ProbeResultTracker("startup", ProbeConfig(failure_threshold=2))
    assert t.observe(F, container_started=False) is None
    assert t.observe(S, container_started=False) is True
    t.on_container_restart()  # lift the hold to check the gate alone
    assert t.observe(F, container_started=True) is None


def test_waiting_container_publishes_failure():
    """Upstream: pkg/kubelet/prober/worker_test.go TestDoProbe (container waiting)."""
    for kind in ("liveness", "readiness"):
        t = ProbeResultTracker(kind, ProbeConfig())
        t.on_container_stopped()
        assert t.published is False


def test_restart_republishes_initial_but_keeps_result_run():
    # Legacy worker: resultRun survives a container change that was not on hold.
    t = ProbeResultTracker("readiness", ProbeConfig(success_threshold=3, failure_threshold=1))
    run(t, [S, S])
    t.on_container_restart()
    assert t.published is False
    assert t.observe(S) is True  # third success in a row across containers


def test_pod_deletion_liveness_success_and_stops():
    t = ProbeResultTracker("liveness", ProbeConfig(failure_threshold=1))
    t.on_pod_deletion()
    assert t.observe(F) is True
    r = ProbeResultTracker("readiness", ProbeConfig())
    r.on_pod_deletion()
    assert r.observe(S) is True  # readiness keeps probing


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.lists(st.booleans(), max_size=40))
def test_published_changes_only_after_threshold_run(s_thr, f_thr, results):
    """A published flip to X needs the last `threshold(X)` observations all X."""
    t = ProbeResultTracker("readiness", ProbeConfig(success_threshold=s_thr, failure_threshold=f_thr))
    prev = t.published
    for i, r in enumerate(results):
        cur = t.observe(r)
        if cur != prev:
            need = s_thr if cur else f_thr
            assert i + 1 >= need and all(x == cur for x in results[i + 1 - need:i + 1])
        prev = cur


# --- ProbeSchedule -------------------------------------------------------

def test_first_probe_respects_initial_delay_on_ticks():
    sched = ProbeSchedule(liveness=ProbeConfig(initial_delay_seconds=5, period_seconds=10),
                          readiness=ProbeConfig(initial_delay_seconds=0, period_seconds=10))
    assert sched.first_probe_s("liveness", 100.0) == 110.0  # tick at 100 skipped
    assert sched.first_probe_s("readiness", 100.0) == 100.0
    assert sched.first_probe_s("startup", 100.0) is None
    assert sched.next_probe_s("liveness", 110.0) == 120.0


def test_worker_start_and_jitter_shift_the_ticks():
    sched = ProbeSchedule(liveness=ProbeConfig(initial_delay_seconds=5, period_seconds=10))
    assert sched.first_probe_s("liveness", 100.0, worker_start_s=93.0) == 113.0
    assert sched.first_probe_s("liveness", 100.0, jitter_s=2.5) == 112.5
    with pytest.raises(ValueError):
        sched.first_probe_s("liveness", 100.0, jitter_s=10.0)


def test_startup_gates_liveness_and_readiness():
    sched = ProbeSchedule(startup=ProbeConfig(period_seconds=5, failure_threshold=30),
                          liveness=ProbeConfig(period_seconds=10),
                          readiness=ProbeConfig(period_seconds=10))
    assert sched.first_probe_s("startup", 0.0) == 0.0
    assert sched.first_probe_s("liveness", 0.0) is None  # not started yet
    assert sched.first_probe_s("liveness", 0.0, started_s=25.0) == 30.0  # next own tick
    assert sched.first_probe_s("readiness", 0.0, started_s=25.0) == 25.0  # manual trigger


def test_readiness_initial_delay_longer_than_startup():
    sched = ProbeSchedule(startup=ProbeConfig(period_seconds=5),
                          readiness=ProbeConfig(initial_delay_seconds=40, period_seconds=10))
    assert sched.first_probe_s("readiness", 0.0, started_s=25.0) == 40.0
    # Kubelet restart: the worker sleeps its jitter before the first doProbe.
    assert sched.first_probe_s("readiness", 0.0, started_s=45.0, worker_start_s=44.0,
                               jitter_s=3.0) == 47.0


# --- CrashLoopBackOff ------------------------------------------------------

def crash_loop(backoff, run_s, n, start_s=0.0):
    delays, t = [], start_s
    for _ in range(n):
        finished = t + run_s
        restart = backoff.on_container_exit(finished)
        delays.append(restart - finished)
        t = restart
    return delays


def test_crashloop_spacing_first_restart_immediate_then_doubling():
    delays = crash_loop(CrashLoopBackOff(), run_s=1.0, n=8)
    assert delays[0] == 0.0
    assert delays[1:] == [10, 20, 40, 80, 160, 300, 300]


def test_crashloop_reset_after_running_ten_minutes():
    b = CrashLoopBackOff()
    crash_loop(b, 1.0, 5)
    assert b.backoff_s == 160.0
    t = 10_000.0
    b.record_restart(t, t - 50)  # a restart at t (window doubled to 300)
    assert b.delay_s(t + 601.0) == 0.0  # ran > 600 s: immediate restart
    assert b.on_container_exit(t + 601.0) == t + 601.0
    assert b.backoff_s == 10.0
    assert b.delay_s(t + 602.0) == 10.0


def test_crashloop_gc_cuts_a_wait_short():
    b = CrashLoopBackOff()
    crash_loop(b, 1.0, 7)  # window now 300, lastUpdate = last restart
    last = b._last_update_s
    # Ran 500 s then crashed: GC forgets the entry at lastUpdate + 600.
    assert b.delay_s(last + 500.0) == 100.0
    assert b.on_container_exit(last + 500.0) == last + 600.0
    assert b.backoff_s == 10.0


def test_crashloop_gc_and_reset():
    b = CrashLoopBackOff()
    crash_loop(b, 1.0, 3)
    b.gc(b._last_update_s + 600.0)
    assert b.backoff_s is not None
    b.gc(b._last_update_s + 600.5)
    assert b.backoff_s is None
    crash_loop(b, 1.0, 2)
    b.reset()
    assert b.delay_s(1e6) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0.0, 2000.0), min_size=1, max_size=30))
def test_crashloop_matches_reference_model(run_times):
    """Delays follow: immediate on first/expired, else min(window, GC cut)."""
    b = CrashLoopBackOff()
    t, window = 0.0, None
    for run_s in run_times:
        finished = t + run_s
        d = b.on_container_exit(finished) - finished
        if window is None or run_s > 600.0:
            expected, window = 0.0, 10.0
        else:
            expected = min(window, 600.0 - run_s)
            window = 10.0 if run_s + expected >= 600.0 - 1e-9 else min(2 * window, 300.0)
        assert d == pytest.approx(expected)
        assert -1e-6 <= d <= 300.0 + 1e-6  # d is restart - finished, float noise
        assert b.backoff_s == window
        t = finished + d
