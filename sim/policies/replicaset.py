"""ReplicaSet scale-down ranking and Deployment rolling-update arithmetic.

Pure functions over counts and frozen pod views; no clock, no randomness.

Sources imitated (kubernetes/kubernetes, current master):

* ``pkg/controller/controller_utils.go`` -- ``ActivePodsWithRanks.Less``,
  ``logarithmicRankDiff``, ``afterOrZero``, ``maxContainerRestarts``.
* ``pkg/controller/replicaset/replica_set.go`` -- ``getPodsToDelete``,
  ``getPodsRankedByRelatedPodsOnSameNode``.
* ``pkg/controller/deployment/rolling.go`` -- ``reconcileNewReplicaSet``,
  ``reconcileOldReplicaSets``, ``cleanupUnhealthyReplicas``,
  ``scaleDownOldReplicaSetsForRollingUpdate``.
* ``pkg/controller/deployment/util/deployment_util.go`` --
  ``ResolveFenceposts``, ``MaxUnavailable``, ``NewRSNewReplicas``;
  ``apimachinery/pkg/util/intstr`` ``GetScaledValueFromIntOrPercent``.

Worked example -- one rollout, 3 replicas, maxSurge 1, maxUnavailable 0
(``resolve_fenceposts(1, 0, 3) == (1, 0)``, so at most 4 pods and at least 3
available). Each row is one Deployment sync; ``new``/``old`` are spec
replicas, ``avail`` the new RS's available pods seen by that sync (old pods
stay available until deleted). A sync that scales the new RS up returns
before looking at old RSs, as ``rolloutRolling`` does.

======  ===========  =====  =========================================
sync    new / old    avail  decision
======  ===========  =====  =========================================
1       0 / 3        0      new_rs_scale_up_target -> 1 (4 = 3 + 1)
2       1 / 3        0      old: maxScaledDown = 4 - 3 - 1 = 0
3       1 / 3        1      old: 4 - 3 - 0 = 1, available 4 > 3 -> old 2
4       1 / 2        1      new -> 2
5       2 / 2        2      old: 4 - 3 - 0 = 1 -> old 1
6       2 / 1        2      new -> 3
7       3 / 1        3      old: 4 - 3 - 0 = 1 -> old 0 (complete)
======  ===========  =====  =========================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

POD_PHASES = ("Pending", "Running", "Unknown", "Succeeded", "Failed")
# controller_utils.go podPhaseToOrdinal; phases absent from the map read 0.
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}

DEFAULT_MAX_SURGE = "25%"        # SetDefaults_Deployment (apps/v1)
DEFAULT_MAX_UNAVAILABLE = "25%"  # SetDefaults_Deployment (apps/v1)

IntOrPercent = int | str | None


@dataclass(frozen=True)
class PodView:
    """What the ReplicaSet controller sees of one pod.

    ``node`` None/"" means unassigned; ``ready_since_s`` is the Ready
    condition's lastTransitionTime (None = unset); ``restarts`` is the
    largest container restart count; ``deletion_cost`` is the
    ``controller.kubernetes.io/pod-deletion-cost`` annotation (default 0).
    Names are assumed unique (they stand in for the UID tie-break).
    """

    name: str
    created_s: float
    phase: str
    ready: bool
    ready_since_s: float | None
    restarts: int
    node: str | None = None
    deletion_cost: int = 0

    def __post_init__(self) -> None:
        if self.phase not in POD_PHASES:
            raise ValueError(f"phase must be one of {POD_PHASES}, got {self.phase!r}")
        if self.restarts < 0:
            raise ValueError("restarts must be >= 0")

    @property
    def assigned(self) -> bool:
        """True once bound to a node."""
        return bool(self.node)

    @property
    def active(self) -> bool:
        """controller.IsPodActive (deletion timestamps are not modelled)."""
        return self.phase not in ("Succeeded", "Failed")


def co_located_ranks(pods: Sequence[PodView], related: Iterable[PodView] | None = None) -> list[int]:
    """Rank of each pod: active related pods on the same node.

    (replica_set.go ``getPodsRankedByRelatedPodsOnSameNode``; ``related``
    defaults to ``pods`` and, as upstream, includes the pod itself.)
    """
    counts: dict[str, int] = {}
    for pod in pods if related is None else related:
        if pod.active:
            counts[pod.node or ""] = counts.get(pod.node or "", 0) + 1
    return [counts.get(pod.node or "", 0) for pod in pods]


def _log_bucket(now_s: float, t_s: float) -> int:
    """logarithmicRankDiff's rank: floor(log2(now - t in ns)), -1 if <= 0."""
    d_ns = round((now_s - t_s) * 1e9)
    return int(math.log2(d_ns)) if d_ns > 0 else -1


def _time_key(t_s: float | None, now_s: float | None) -> tuple[int, float]:
    """Zero time first, then more recent first (exact or log2-bucketed)."""
    if t_s is None:
        return (0, 0.0)
    if now_s is None:
        return (1, -t_s)
    return (1, float(_log_bucket(now_s, t_s)))


def deletion_sort_key(pod: PodView, rank: int, now_s: float | None = None) -> tuple:
    """Sort key: smaller = deleted first (ActivePodsWithRanks.Less rules).

    1 unassigned first; 2 Pending < Unknown < Running; 3 not ready first;
    4 lower deletion cost first; 5 higher co-location rank first; 6 (ready
    pods) unset ready time, then ready more recently first; 7 more restarts
    first; 8 created more recently first; then name.

    With ``now_s`` (LogarithmicScaleDown, GA in 1.31) rules 6 and 8 compare
    ``floor(log2(age in ns))`` buckets instead of exact times. Upstream, two
    different times in the same bucket are decided by UID immediately,
    skipping rule 7 -- that makes ``Less`` non-transitive when combined with
    rule 7, so here a shared bucket is a tie that falls through to the next
    rule; the final name tie-break stands in for the UID.
    """
    ready_key = _time_key(pod.ready_since_s, now_s) if pod.ready else (0, 0.0)
    return (
        1 if pod.assigned else 0,
        _PHASE_ORDINAL.get(pod.phase, 0),
        1 if pod.ready else 0,
        pod.deletion_cost,
        -rank,
        ready_key,
        -pod.restarts,
        _time_key(pod.created_s, now_s),
        pod.name,
    )


def rank_pods_for_deletion(
    pods: Sequence[PodView],
    now_s: float | None = None,
    related: Iterable[PodView] | None = None,
) -> list[PodView]:
    """All ``pods`` ordered most-deletable first (a strict total order)."""
    ranks = co_located_ranks(pods, related)
    order = sorted(range(len(pods)), key=lambda i: deletion_sort_key(pods[i], ranks[i], now_s))
    return [pods[i] for i in order]


def pods_to_delete(
    pods: Sequence[PodView],
    diff: int,
    now_s: float | None = None,
    related: Iterable[PodView] | None = None,
) -> list[PodView]:
    """replica_set.go ``getPodsToDelete``: the first ``diff`` ranked pods.

    As upstream, no sorting happens when every pod is deleted.
    """
    if diff < 0:
        raise ValueError("diff must be >= 0")
    if diff < len(pods):
        return rank_pods_for_deletion(pods, now_s, related)[:diff]
    return list(pods[:diff])


def scaled_value(value: IntOrPercent, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent (None reads as 0).

    Ints pass through; strings must be ``"<int>%"`` (a bare ``"5"`` is an
    error, as upstream) and scale ``total`` rounding up or down.
    Negative values raise (API validation rejects them).
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid IntOrString {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.endswith("%") and value[:-1].lstrip("+-").isdigit():
        percent = int(value[:-1])
        if percent < 0:
            raise ValueError(f"{value!r} must not be negative")
        scaled = percent * total
        result = -(-scaled // 100) if round_up else scaled // 100
    else:
        raise ValueError(f"invalid IntOrString {value!r}: not an int or a percentage")
    if result < 0:
        raise ValueError(f"{value!r} must not be negative")
    return result


def resolve_fenceposts(max_surge: IntOrPercent, max_unavailable: IntOrPercent, desired: int) -> tuple[int, int]:
    """deployment_util.go ``ResolveFenceposts`` -> ``(surge, unavailable)``.

    Surge rounds up, unavailable rounds down; if both resolve to 0,
    unavailable becomes 1. ``None`` means 0 here (as upstream); the API
    default for both fields is ``"25%"`` (DEFAULT_MAX_SURGE/UNAVAILABLE).
    """
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(max_surge: IntOrPercent, max_unavailable_: IntOrPercent, desired: int) -> int:
    """deployment_util.go ``MaxUnavailable``: 0 if desired is 0, capped at desired."""
    if desired == 0:
        return 0
    return min(resolve_fenceposts(max_surge, max_unavailable_, desired)[1], desired)


def new_rs_scale_up_target(desired: int, max_surge: IntOrPercent, all_replicas: int, new_rs_replicas: int) -> int:
    """deployment_util.go ``NewRSNewReplicas`` (RollingUpdate).

    ``all_replicas`` is the sum of spec replicas over all ReplicaSets
    (new included). Never exceeds ``desired + surge`` total pods, nor
    ``desired`` new pods; returns ``new_rs_replicas`` when it cannot grow.
    """
    surge = scaled_value(max_surge, desired, True)
    max_total = desired + surge
    if all_replicas >= max_total:
        return new_rs_replicas
    return new_rs_replicas + min(max_total - all_replicas, desired - new_rs_replicas)


def reconcile_new_rs_replicas(desired: int, max_surge: IntOrPercent, all_replicas: int, new_rs_replicas: int) -> int:
    """rolling.go ``reconcileNewReplicaSet``: the new RS's next spec replicas."""
    if new_rs_replicas >= desired:
        return desired
    return new_rs_scale_up_target(desired, max_surge, all_replicas, new_rs_replicas)


@dataclass(frozen=True)
class RSCounts:
    """A ReplicaSet as the Deployment controller counts it."""

    replicas: int   # spec.replicas
    available: int  # status.availableReplicas

    def __post_init__(self) -> None:
        if self.replicas < 0 or self.available < 0:
            raise ValueError("counts must be >= 0")


@dataclass(frozen=True)
class OldScaleDown:
    """Result of ``reconcileOldReplicaSets``: new old-RS sizes and why."""

    old_replicas: tuple[int, ...]  # same order as the input (oldest first)
    cleanup: int                   # unhealthy pods removed first
    scaled_down: int               # available pods removed afterwards

    @property
    def total(self) -> int:
        """Pods scaled down in this sync."""
        return self.cleanup + self.scaled_down


def old_rs_scale_down(
    desired: int,
    max_surge: IntOrPercent,
    max_unavailable_: IntOrPercent,
    new_rs: RSCounts,
    old_rss: Sequence[RSCounts],
) -> OldScaleDown:
    """rolling.go ``reconcileOldReplicaSets`` over counts (old RSs oldest first).

    ``maxScaledDown = allPods - minAvailable - newRSUnavailable``; if > 0,
    first clean up unhealthy old replicas (``replicas - available``, up to
    ``maxScaledDown``), then scale old RSs down by ``available - minAvailable``
    where ``available`` is the status count of the new RS and the old RSs
    that had replicas (statuses are not changed by the cleanup).
    """
    unchanged = OldScaleDown(tuple(rs.replicas for rs in old_rss), 0, 0)
    if sum(rs.replicas for rs in old_rss) == 0:
        return unchanged
    min_available = desired - max_unavailable(max_surge, max_unavailable_, desired)
    all_pods = sum(rs.replicas for rs in old_rss) + new_rs.replicas
    max_scaled_down = all_pods - min_available - (new_rs.replicas - new_rs.available)
    if max_scaled_down <= 0:
        return unchanged
    active = [rs for rs in old_rss if rs.replicas > 0]  # FilterActiveReplicaSets
    sizes, cleanup = cleanup_unhealthy_replicas(active, max_scaled_down)
    available = new_rs.available + sum(rs.available for rs in active)
    sizes, scaled = scale_down_old_replica_sets(sizes, available, min_available)
    it = iter(sizes)
    return OldScaleDown(tuple(next(it) if rs.replicas > 0 else 0 for rs in old_rss), cleanup, scaled)


def old_rs_scale_down_count(
    desired: int,
    max_surge: IntOrPercent,
    max_unavailable_: IntOrPercent,
    new_rs: RSCounts,
    old_rss: Sequence[RSCounts],
) -> int:
    """Total old pods ``reconcileOldReplicaSets`` removes in one sync."""
    return old_rs_scale_down(desired, max_surge, max_unavailable_, new_rs, old_rss).total


def cleanup_unhealthy_replicas(old_rss: Sequence[RSCounts], max_cleanup: int) -> tuple[list[int], int]:
    """rolling.go ``cleanupUnhealthyReplicas``: drop unavailable old replicas.

    Walks the old RSs oldest first, removing ``replicas - available`` from
    each until ``max_cleanup`` is used; returns ``(new sizes, removed)``.
    """
    sizes = [rs.replicas for rs in old_rss]
    total = 0
    for i, rs in enumerate(old_rss):
        if total >= max_cleanup:
            break
        unhealthy = rs.replicas - rs.available
        if rs.replicas == 0 or unhealthy <= 0:
            continue
        count = min(max_cleanup - total, unhealthy)
        sizes[i] -= count
        total += count
    return sizes, total


def scale_down_old_replica_sets(old_sizes: Sequence[int], available: int, min_available: int) -> tuple[list[int], int]:
    """rolling.go ``scaleDownOldReplicaSetsForRollingUpdate``.

    Removes ``available - min_available`` old replicas, oldest RS first;
    nothing when ``available <= min_available``. Returns ``(sizes, removed)``.
    """
    sizes = list(old_sizes)
    limit = available - min_available
    total = 0
    for i, size in enumerate(sizes):
        if total >= limit:
            break
        count = min(size, limit - total)
        sizes[i] -= count
        total += count
    return sizes, total
