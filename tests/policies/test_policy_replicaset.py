"""Tests for sim.policies.replicaset.

Ported from kubernetes/kubernetes pkg/controller/controller_utils_test.go
(TestSortingActivePodsWithRanks), pkg/controller/replicaset/replica_set_test.go
(getPodsToDelete cases), pkg/controller/deployment/rolling_test.go and
pkg/controller/deployment/util/deployment_util_test.go.
"""

import functools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.replicaset import (
    DEFAULT_MAX_SURGE,
    DEFAULT_MAX_UNAVAILABLE,
    PodView,
    RSCounts,
    cleanup_unhealthy_replicas,
    co_located_ranks,
    deletion_sort_key,
    max_unavailable,
    new_rs_scale_up_target,
    old_rs_scale_down,
    old_rs_scale_down_count,
    pods_to_delete,
    rank_pods_for_deletion,
    reconcile_new_rs_replicas,
    resolve_fenceposts,
    scale_down_old_replica_sets,
)

NOW = 10_000_000.0
HOUR = 3600.0
MONTH = 30 * 24 * HOUR


def pod(name, node, phase, ready, restarts, ready_since, created, cost=0):
    return PodView(name=name, created_s=created, phase=phase, ready=ready,
                   ready_since_s=ready_since if ready else None, restarts=restarts,
                   node=node, deletion_cost=cost)


# TestSortingActivePodsWithRanks fixtures ("zeroTime" -> None / created 0).
unscheduled = pod("unscheduled", "", "Pending", False, 0, None, 0.0)
scheduled_pending = pod("pending", "node", "Pending", False, 0, None, 0.0)
unknown_phase = pod("unknown-phase", "node", "Unknown", False, 0, None, 0.0)
running_not_ready = pod("not-ready", "node", "Running", False, 0, None, 0.0)
ready_no_ltt = pod("ready-no-last-transition-time", "node", "Running", True, 0, None, 0.0)
ready_now = pod("ready-now", "node", "Running", True, 0, NOW, NOW)
ready_then = pod("ready-then", "node", "Running", True, 0, NOW - MONTH, NOW - MONTH)
ready_high_restarts = pod("ready-high-restarts", "node", "Running", True, 9001, NOW, NOW)
ready_now_created_then = pod("ready-now-created-then", "node", "Running", True, 0, NOW, NOW - MONTH)
low_cost = pod("low-deletion-cost", "node", "Running", True, 0, NOW, NOW - MONTH, cost=10)
high_cost = pod("high-deletion-cost", "node", "Running", True, 0, NOW, NOW - MONTH, cost=100)
unscheduled_5h = pod("unscheduled-5-hours", "", "Pending", False, 0, None, NOW - 5 * HOUR)
unscheduled_8h = pod("unscheduled-10-hours", "", "Pending", False, 0, None, NOW - 8 * HOUR)
ready_2h = pod("ready-2-hours", "", "Running", True, 0, NOW - 2 * HOUR, NOW - MONTH)
ready_5h = pod("ready-5-hours", "", "Running", True, 0, NOW - 5 * HOUR, NOW - MONTH)
ready_8h = pod("ready-10-hours", "", "Running", True, 0, NOW - 8 * HOUR, NOW - MONTH)


@pytest.mark.parametrize("p1,p2", [
    (unscheduled, None), (scheduled_pending, None), (unknown_phase, None),
    (running_not_ready, None), (ready_now_created_then, None), (ready_now, None),
    (ready_then, None), (ready_high_restarts, None),
    (unscheduled_5h, unscheduled_8h), (ready_5h, ready_8h),
])
def test_pods_equal_in_every_deletion_rule_tie_until_uid(p1, p2):
    """Upstream: pkg/controller/controller_utils_test.go TestSortingActivePodsWithRanks (equality cases)."""
    p2 = p2 or p1
    # Equal up to the final UID/name tie-break.
    assert deletion_sort_key(p1, 1, NOW)[:-1] == deletion_sort_key(p2, 1, NOW)[:-1]


@pytest.mark.parametrize("lesser,lrank,greater,grank", [
    (unscheduled, 1, scheduled_pending, 2),
    (unscheduled, 2, scheduled_pending, 1),
    (scheduled_pending, 1, unknown_phase, 2),
    (unknown_phase, 1, running_not_ready, 2),
    (running_not_ready, 1, ready_no_ltt, 1),
    (ready_no_ltt, 1, ready_now, 1),
    (ready_now, 2, ready_no_ltt, 1),
    (ready_now, 1, ready_then, 1),
    (ready_now, 2, ready_then, 1),
    (ready_high_restarts, 1, ready_now, 1),
    (ready_now, 2, ready_high_restarts, 1),
    (ready_now, 1, ready_now_created_then, 1),
    (ready_now_created_then, 2, ready_now, 1),
    (low_cost, 2, high_cost, 1),
    (ready_2h, 1, ready_5h, 1),
])
def test_pods_earlier_in_deletion_order_are_deleted_first(lesser, lrank, greater, grank):
    """Upstream: pkg/controller/controller_utils_test.go TestSortingActivePodsWithRanks (inequality cases)."""
    for now in (NOW, None):
        assert deletion_sort_key(lesser, lrank, now) < deletion_sort_key(greater, grank, now)


def test_deletion_order_of_a_full_pod_list():
    """Upstream: pkg/controller/controller_utils_test.go TestSortingActivePods."""
    pods = [ready_then, unknown_phase, ready_now, unscheduled, running_not_ready,
            scheduled_pending, ready_no_ltt]
    names = [p.name for p in rank_pods_for_deletion(pods, NOW, related=[])]
    assert names == ["unscheduled", "pending", "unknown-phase", "not-ready",
                     "ready-no-last-transition-time", "ready-now", "ready-then"]


# replica_set_test.go TestGetPodsToDelete
u_pending = pod("unscheduled-pending-pod", "", "Pending", False, 0, None, 0.0)
s_pending = pod("scheduled-pending-pod", "fake-node", "Pending", False, 0, None, 0.0)
s_not_ready = pod("scheduled-running-not-ready-pod", "fake-node", "Running", False, 0, None, 0.0)
ready_n1 = pod("scheduled-running-ready-pod-on-node-1", "fake-node-1", "Running", True, 0, None, 0.0)
ready_n2 = pod("scheduled-running-ready-pod-on-node-2", "fake-node-2", "Running", True, 0, None, 0.0)
ready_n2b = pod("another-ready-pod-on-node-2", "fake-node-2", "Running", True, 0, None, 0.0)
ALL5 = [u_pending, s_pending, s_not_ready, ready_n1, ready_n2]


@pytest.mark.parametrize("name,pods,related,diff,expected", [
    ("len(pods) = 0", [], None, 0, []),
    ("diff = len(pods)", [s_not_ready, ready_n1], None, 2, [s_not_ready, ready_n1]),
    ("diff < len(pods)", [ready_n1, s_not_ready], None, 1, [s_not_ready]),
    ("various, diff = len(pods)", ALL5, None, 5, ALL5),
    ("various, diff = len(pods), related empty", ALL5, [], 5, ALL5),
    ("scheduled vs unscheduled", [s_pending, u_pending], None, 1, [u_pending]),
    ("ready vs not-ready", [ready_n1, s_not_ready], None, 1, [s_not_ready]),
    ("ready colocated with another ready pod vs not colocated",
     [ready_n1, ready_n2], [ready_n1, ready_n2, ready_n2b], 1, [ready_n2]),
    ("pending vs running", [s_pending, s_not_ready], None, 1, [s_pending]),
    ("various, diff < len(pods)", list(reversed(ALL5)), None, 3, [u_pending, s_pending, s_not_ready]),
])
def test_pods_to_delete_prefer_lesser_ranked_pods(name, pods, related, diff, expected):
    """Upstream: pkg/controller/replicaset/replica_set_test.go TestGetPodsToDelete."""
    assert pods_to_delete(pods, diff, related=related) == expected


def test_co_located_ranks_count_active_related_pods():
    done = pod("done", "fake-node-2", "Succeeded", False, 0, None, 0.0)
    assert co_located_ranks([ready_n1, ready_n2], [ready_n1, ready_n2, ready_n2b, done]) == [1, 2]


def test_pod_view_validation():
    with pytest.raises(ValueError, match="phase"):
        PodView("x", 0.0, "Runnin", False, None, 0)
    with pytest.raises(ValueError):
        pods_to_delete([], -1)


# --- hypothesis: ranking is a total order consistent with the Go rules ----

ORD = {"Pending": 0, "Unknown": 1, "Running": 2}


def bucket(now, t):
    d = round((now - t) * 1e9)
    return int(math.log2(d)) if d > 0 else -1


def go_less(a, ra, b, rb, now):
    """ActivePodsWithRanks.Less; returns (decided, less, via_uid)."""
    if (a.node or "") != (b.node or "") and (not a.node or not b.node):
        return True, not a.node, False
    if ORD.get(a.phase, 0) != ORD.get(b.phase, 0):
        return True, ORD.get(a.phase, 0) < ORD.get(b.phase, 0), False
    if a.ready != b.ready:
        return True, not a.ready, False
    if a.deletion_cost != b.deletion_cost:
        return True, a.deletion_cost < b.deletion_cost, False
    if ra != rb:
        return True, ra > rb, False
    if a.ready and b.ready and a.ready_since_s != b.ready_since_s:
        ta, tb = a.ready_since_s, b.ready_since_s
        if now is None or ta is None or tb is None:
            return True, (ta is None) if (ta is None or tb is None) else ta > tb, False
        diff = bucket(now, ta) - bucket(now, tb)
        return (True, a.name < b.name, True) if diff == 0 else (True, diff < 0, False)
    if a.restarts != b.restarts:
        return True, a.restarts > b.restarts, False
    if a.created_s != b.created_s:
        if now is None:
            return True, a.created_s > b.created_s, False
        diff = bucket(now, a.created_s) - bucket(now, b.created_s)
        return (True, a.name < b.name, True) if diff == 0 else (True, diff < 0, False)
    return False, False, False


TIMES = [NOW, NOW - 1.0, NOW - 100.0, NOW - 5 * HOUR, NOW - 8 * HOUR, NOW - MONTH]
pod_st = st.builds(
    lambda i, node, phase, ready, restarts, rs, created, cost: pod(
        f"p{i}", node, phase, ready, restarts, rs, created, cost),
    st.integers(0, 10_000), st.sampled_from([None, "", "n1", "n2", "n3"]),
    st.sampled_from(["Pending", "Running", "Unknown"]), st.booleans(),
    st.integers(0, 3), st.sampled_from([None] + TIMES), st.sampled_from(TIMES),
    st.integers(-1, 1))
pods_st = st.lists(pod_st, max_size=12, unique_by=lambda p: p.name)


@settings(max_examples=300, deadline=None)
@given(pods_st, st.randoms(use_true_random=False))
def test_rank_exact_mode_equals_go_less_and_is_permutation_invariant(pods, rnd):
    ranks = dict(zip((p.name for p in pods), co_located_ranks(pods)))

    def cmp(a, b):
        decided, less, _ = go_less(a, ranks[a.name], b, ranks[b.name], None)
        if decided:
            return -1 if less else 1
        return (a.name > b.name) - (a.name < b.name)

    expected = sorted(pods, key=functools.cmp_to_key(cmp))
    shuffled = list(pods)
    rnd.shuffle(shuffled)
    assert rank_pods_for_deletion(pods) == expected
    assert rank_pods_for_deletion(shuffled) == expected


@settings(max_examples=300, deadline=None)
@given(pods_st, st.randoms(use_true_random=False))
def test_rank_log_mode_total_and_consistent_with_rules(pods, rnd):
    ranks = dict(zip((p.name for p in pods), co_located_ranks(pods)))
    out = rank_pods_for_deletion(pods, NOW)
    shuffled = list(pods)
    rnd.shuffle(shuffled)
    assert rank_pods_for_deletion(shuffled, NOW) == out
    keys = [deletion_sort_key(p, ranks[p.name], NOW) for p in out]
    assert all(k1 < k2 for k1, k2 in zip(keys, keys[1:]))  # strict total order
    for i, a in enumerate(out):
        for b in out[i + 1:]:
            decided, b_first, via_uid = go_less(b, ranks[b.name], a, ranks[a.name], NOW)
            assert not (decided and b_first and not via_uid)


# --- deployment_util_test.go --------------------------------------------

@pytest.mark.parametrize("surge,unavail,desired,expected", [
    ("0%", "0%", 0, (0, 1)),
    ("39%", "39%", 10, (4, 3)),
    (None, "39%", 10, (0, 3)),
    ("39%", None, 10, (4, 0)),
    (None, None, 10, (0, 1)),
    (1, 1, 2, (1, 1)),
    ("25%", "25%", 8, (2, 2)),
    (0, 0, 5, (0, 1)),
    (DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE, 3, (1, 0)),  # 0.75 up/down
    (DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE, 4, (1, 1)),
])
def test_surge_and_unavailable_resolve_with_rounding(surge, unavail, desired, expected):
    """Upstream: pkg/controller/deployment/util/deployment_util_test.go TestResolveFenceposts."""
    assert resolve_fenceposts(surge, unavail, desired) == expected


@pytest.mark.parametrize("surge,unavail", [("oops", "39%"), ("55%", "urg"), ("5", "1"),
                                            (-1, 0), ("-5%", "1%"), (True, 1)])
def test_invalid_surge_or_unavailable_is_an_error(surge, unavail):
    """Upstream: pkg/controller/deployment/util/deployment_util_test.go TestResolveFenceposts (error cases)."""
    with pytest.raises(ValueError):
        resolve_fenceposts(surge, unavail, 10)


@pytest.mark.parametrize("replicas,mu,expected", [
    (10, 5, 5), (10, 10, 10), (5, 10, 5), (0, 10, 0),
    (10, "50%", 5), (10, "100%", 10), (5, "100%", 5),
])
def test_max_unavailable_is_bounded_by_replicas(replicas, mu, expected):
    """Upstream: pkg/controller/deployment/util/deployment_util_test.go TestMaxUnavailable."""
    assert max_unavailable(1, mu, replicas) == expected


@pytest.mark.parametrize("name,dep,new,surge,expected", [
    ("can not scale up - to newRSReplicas", 1, 5, 1, 5),
    ("scale up - to depReplicas", 6, 2, 10, 6),
])
def test_new_replica_set_grows_within_surge(name, dep, new, surge, expected):
    """Upstream: pkg/controller/deployment/util/deployment_util_test.go TestNewRSNewReplicas."""
    # allRSs = [rs5] (5 replicas), as in the Go test.
    assert new_rs_scale_up_target(dep, surge, 5, new) == expected


# --- rolling_test.go --------------------------------------------------------

@pytest.mark.parametrize("dep,surge,old,new,scale,expected", [
    (10, 0, 10, 0, False, None),
    (10, 2, 10, 0, True, 2),
    (10, 2, 5, 0, True, 7),
    (10, 2, 10, 2, False, None),
    (10, 2, 2, 11, True, 10),
])
def test_reconcile_scales_new_replica_set_within_surge(dep, surge, old, new, scale, expected):
    """Upstream: pkg/controller/deployment/rolling_test.go TestDeploymentController_reconcileNewReplicaSet."""
    got = reconcile_new_rs_replicas(dep, surge, old + new, new)
    assert (got != new) == scale
    if scale:
        assert got == expected


@pytest.mark.parametrize("dep,mu,old,new,ready_old,ready_new,scale,expected_old", [
    (10, 0, 10, 0, 10, 0, True, 9),
    (10, 2, 10, 0, 10, 0, True, 8),
    (10, 2, 10, 0, 8, 0, True, 8),   # unhealthy old replicas cleaned up
    (10, 2, 10, 0, 9, 0, True, 8),   # 1 cleaned up + 1 ready scaled down
    (10, 2, 8, 2, 8, 0, False, 8),   # unavailable new pods block further scale-down
])
def test_reconcile_scales_old_replica_sets_within_unavailable(dep, mu, old, new, ready_old, ready_new,
                                                          scale, expected_old):
    """Upstream: pkg/controller/deployment/rolling_test.go TestDeploymentController_reconcileOldReplicaSets."""
    res = old_rs_scale_down(dep, 0, mu, RSCounts(new, ready_new), [RSCounts(old, ready_old)])
    assert (res.total > 0) == scale
    assert res.old_replicas == (expected_old,)
    assert old_rs_scale_down_count(dep, 0, mu, RSCounts(new, ready_new),
                                   [RSCounts(old, ready_old)]) == res.total


@pytest.mark.parametrize("old,ready,max_cleanup,expected", [
    (10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0),
])
def test_cleanup_removes_unhealthy_old_replicas_first(old, ready, max_cleanup, expected):
    """Upstream: pkg/controller/deployment/rolling_test.go TestDeploymentController_cleanupUnhealthyReplicas."""
    sizes, count = cleanup_unhealthy_replicas([RSCounts(old, ready)], max_cleanup)
    assert count == expected and sizes == [old - expected]


@pytest.mark.parametrize("dep,mu,ready,old,scale,expected_old", [
    (10, 0, 10, 10, True, 9),
    (10, 2, 10, 10, True, 8),
    (10, 2, 8, 10, False, 10),
    (10, 2, 10, 0, False, 0),
    (10, 2, 1, 10, False, 10),
])
def test_rolling_update_scales_down_old_replicas_by_availability(dep, mu, ready, old,
                                                                          scale, expected_old):
    """Upstream: pkg/controller/deployment/rolling_test.go TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate."""
    min_available = dep - max_unavailable(0, mu, dep)
    sizes, count = scale_down_old_replica_sets([old], ready, min_available)
    assert (count > 0) == scale and sizes == [expected_old]


def test_old_rs_cleanup_walks_oldest_first_across_rss():
    res = old_rs_scale_down(10, 0, 3, RSCounts(0, 0), [RSCounts(0, 0), RSCounts(4, 2), RSCounts(6, 6)])
    # minAvailable 7, maxScaledDown 3: cleanup 2 from the older RS, then 8 - 7 = 1 more.
    assert res == type(res)((0, 1, 6), 2, 1)


def sync(desired, ms, mu, new, old):
    """One rolloutRolling pass over counts; returns the updated pair."""
    target = reconcile_new_rs_replicas(desired, ms, new.replicas + old.replicas, new.replicas)
    if target != new.replicas:
        return RSCounts(target, min(new.available, target)), old
    res = old_rs_scale_down(desired, ms, mu, new, [old])
    size = res.old_replicas[0]
    return new, RSCounts(size, min(old.available, size))  # not-ready pods go first


def test_doc_example_rollout_3_surge1_unavail0():
    new, old, rows = RSCounts(0, 0), RSCounts(3, 3), []
    for avail in [0, 0, 1, 1, 2, 2, 3]:
        new = RSCounts(new.replicas, avail)
        rows.append((new.replicas, old.replicas, avail))
        new, old = sync(3, 1, 0, new, old)
    assert rows == [(0, 3, 0), (1, 3, 0), (1, 3, 1), (1, 2, 1), (2, 2, 2), (2, 1, 2), (3, 1, 3)]
    assert (new.replicas, old.replicas) == (3, 0)


ios = st.one_of(st.integers(0, 4), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 15), ios, ios, st.lists(st.integers(0, 3), max_size=40))
def test_rolling_update_respects_surge_and_availability(desired, ms, mu, progress):
    surge = resolve_fenceposts(ms, mu, desired)[0]
    min_available = desired - max_unavailable(ms, mu, desired)
    new, old = RSCounts(0, 0), RSCounts(desired, desired)
    for step in progress + [desired] * (4 * desired + 4):
        new = RSCounts(new.replicas, min(new.replicas, new.available + step))
        new, old = sync(desired, ms, mu, new, old)
        assert new.replicas + old.replicas <= desired + surge
        assert new.available + old.available >= min_available
    assert (new.replicas, old.replicas) == (desired, 0)
