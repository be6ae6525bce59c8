"""Cluster-autoscaler decision rules for one CPU-only node group.

Pure Python: callers pass ``now_s`` and frozen node views; the policy keeps
only its own memory (when each node became unneeded, last scale-up/down).

Sources imitated (github.com/kubernetes/autoscaler, cluster-autoscaler):

* ``FAQ.md`` -- "How does scale-up work?", "How does scale-down work?",
  "What are the parameters to CA?" (defaults below).
* ``estimator/binpacking_estimator.go`` ``Estimate`` (First-Fit
  Decreasing onto template nodes) and ``decreasing_pod_orderer.go``
  (pods sorted by request/allocatable, largest first).
* ``core/static_autoscaler.go`` ``RunOnce`` (scale-down skipped in a loop
  that scaled up; cooldown after add/delete), ``core/scaledown/unneeded``
  (unneeded-since memory), ``simulator/cluster.go`` ``FindNodesToRemove``
  (a node is removable when all its pods fit elsewhere; moves are
  remembered so later candidates see the consumed capacity).

Utilization is CPU only: ``requested_cpu / allocatable_cpu`` (CA takes the
max of CPU and memory). PodDisruptionBudgets, pods that block removal
(kube-system, local storage), unready-node handling, node-group back-off
and the non-empty-candidates limit are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from sim.policies.scheduling import fits, to_millicores

# FAQ.md "What are the parameters to CA?" defaults.
SCAN_INTERVAL_S = 10.0                      # --scan-interval
SCALE_DOWN_UTILIZATION_THRESHOLD = 0.5      # --scale-down-utilization-threshold
SCALE_DOWN_UNNEEDED_TIME_S = 600.0          # --scale-down-unneeded-time
SCALE_DOWN_DELAY_AFTER_ADD_S = 600.0        # --scale-down-delay-after-add
SCALE_DOWN_DELAY_AFTER_DELETE_S = SCAN_INTERVAL_S  # defaults to scan-interval
MAX_NODE_PROVISION_TIME_S = 900.0           # --max-node-provision-time
MAX_SCALE_DOWN_PARALLELISM = 10             # --max-scale-down-parallelism
MAX_DRAIN_PARALLELISM = 1                   # --max-drain-parallelism
# Time from a scale-up request until the node can take pods. The simulator
# applies it; CA itself does not. FAQ.md "How fast is HPA when combined with
# CA?": "on GCE it usually takes 3 to 4 minutes from CA request to when pods
# can be scheduled on newly created nodes" -- we take the midpoint.
NODE_PROVISION_DELAY_S = 210.0


@dataclass(frozen=True)
class NodeView:
    """One registered node as CA sees it (CPU in cores).

    ``requested_cpu`` is the sum of all pod requests on the node (it sets
    utilization, DaemonSet/mirror pods included as CA does by default);
    ``pod_requests`` lists the requests of the pods that would have to be
    moved elsewhere if the node were removed. ``created_s`` is carried for
    the simulator's bookkeeping; the rules here do not use it.
    """

    name: str
    allocatable_cpu: float
    requested_cpu: float
    pod_requests: tuple[float, ...] = ()
    created_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "pod_requests", tuple(self.pod_requests))
        if self.allocatable_cpu <= 0:
            raise ValueError("allocatable_cpu must be > 0")
        if self.requested_cpu < 0 or any(r < 0 for r in self.pod_requests):
            raise ValueError("requests must be >= 0")

    @property
    def utilization(self) -> float:
        """Sum of requests / allocatable (CA ``utilization.Calculate``, CPU)."""
        return self.requested_cpu / self.allocatable_cpu

    @property
    def free_cpu(self) -> float:
        """Allocatable minus requested."""
        return self.allocatable_cpu - self.requested_cpu


def binpack_node_count(requests: Iterable[float], node_cpu: float, limit: int | None = None) -> int:
    """Template nodes needed for ``requests`` by First-Fit Decreasing.

    Pods larger than an empty template node are skipped (CA never scales up
    for them). Stops adding nodes at ``limit`` (estimation limiter).
    """
    free: list[int] = []
    node_m = to_millicores(node_cpu)
    for request in sorted(requests, reverse=True):
        if not fits(node_cpu, request):
            continue
        req_m = to_millicores(request)
        slot = next((i for i, f in enumerate(free) if req_m <= f), None)
        if slot is None:
            if limit is not None and len(free) >= limit:
                break
            free.append(node_m)
            slot = len(free) - 1
        free[slot] -= req_m
    return len(free)


def _assign_first_fit(requests: Iterable[float], free_m: list[int]) -> list[tuple[float, int | None]]:
    """First-fit, largest request first, onto ``free_m`` (mutated).

    Returns ``(request, slot)`` pairs; ``slot`` is None when nothing fits.
    A zero request always fits (on the first slot, if any).
    """
    placed: list[tuple[float, int | None]] = []
    for request in sorted(requests, reverse=True):
        req_m = to_millicores(request)
        slot = next((i for i, f in enumerate(free_m) if req_m <= 0 or req_m <= f), None)
        if slot is not None:
            free_m[slot] -= max(req_m, 0)
        placed.append((request, slot))
    return placed


def _place_first_fit(requests: Iterable[float], free_m: list[int]) -> list[float]:
    """Place requests (largest first) onto ``free_m``; return those left over."""
    return [r for r, slot in _assign_first_fit(requests, free_m)
            if slot is None and to_millicores(r) > 0]


@dataclass
class ClusterAutoscalerPolicy:
    """Scale-up / scale-down decisions for one node group of ``node_cpu`` nodes.

    Call both methods once per scan (every ``scan_interval_s``), scale-up
    first, as ``RunOnce`` does. ``scale_up_nodes`` records the scale-up time
    when it asks for nodes; ``scale_down_candidates`` records a deletion when
    it returns nodes (the simulator is expected to remove them).
    """

    min_nodes: int
    max_nodes: int
    node_cpu: float
    scale_down_utilization_threshold: float = SCALE_DOWN_UTILIZATION_THRESHOLD
    scale_down_unneeded_time_s: float = SCALE_DOWN_UNNEEDED_TIME_S
    scale_down_delay_after_add_s: float = SCALE_DOWN_DELAY_AFTER_ADD_S
    scale_down_delay_after_delete_s: float = SCALE_DOWN_DELAY_AFTER_DELETE_S
    scan_interval_s: float = SCAN_INTERVAL_S
    max_scale_down_parallelism: int = MAX_SCALE_DOWN_PARALLELISM
    max_drain_parallelism: int = MAX_DRAIN_PARALLELISM
    _unneeded_since: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _last_scale_up_s: float | None = field(default=None, init=False, repr=False)
    _last_scale_down_s: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.min_nodes <= self.max_nodes:
            raise ValueError("need 0 <= min_nodes <= max_nodes")
        if self.node_cpu <= 0:
            raise ValueError("node_cpu must be > 0")
        if not 0.0 <= self.scale_down_utilization_threshold <= 1.0:
            raise ValueError("scale_down_utilization_threshold must be in [0, 1]")

    def unneeded_since(self, name: str) -> float | None:
        """When ``name`` was first seen unneeded in the current streak."""
        return self._unneeded_since.get(name)

    def scale_up_nodes(
        self, now_s: float, pending_requests: Sequence[float], nodes: Sequence[NodeView],
        upcoming_nodes: int = 0,
    ) -> int:
        """How many nodes to add now for the unschedulable pods.

        Pending pods that fit the free CPU of registered nodes or of the
        ``upcoming_nodes`` still being provisioned are left to the scheduler
        (CA's filterOutSchedulable / upcoming-node simulation); the rest are
        bin-packed onto new template nodes. Capped at
        ``max_nodes - len(nodes) - upcoming_nodes``.
        """
        headroom = self.max_nodes - len(nodes) - upcoming_nodes
        if headroom <= 0 or not pending_requests:
            return 0
        free_m = [max(0, to_millicores(n.free_cpu)) for n in nodes]
        free_m += [to_millicores(self.node_cpu)] * upcoming_nodes
        left = _place_first_fit(pending_requests, free_m)
        count = binpack_node_count(left, self.node_cpu, limit=headroom)
        if count > 0:
            self._last_scale_up_s = now_s
        return count

    def scale_down_candidates(self, now_s: float, nodes: Sequence[NodeView]) -> list[NodeView]:
        """Nodes to remove now (empty ones first), updating unneeded memory.

        A node is unneeded when its utilization is below the threshold and
        all its pods fit on the remaining nodes. It is removed once unneeded
        for ``scale_down_unneeded_time_s``, outside the cooldowns after a
        scale-up/deletion, without going below ``min_nodes``; at most
        ``max_scale_down_parallelism`` nodes per scan, of which at most
        ``max_drain_parallelism`` non-empty.
        """
        if self._last_scale_up_s == now_s:
            return []  # RunOnce returns right after a successful scale-up
        # Unneeded tracking continues during cooldown (RunOnce updates the
        # planner before checking isScaleDownInCooldown).
        unneeded = self._find_unneeded(nodes)
        self._unneeded_since = {
            n.name: self._unneeded_since.get(n.name, now_s) for n in unneeded
        }
        if self._in_cooldown(now_s):
            return []
        ripe = [n for n in unneeded
                if self._unneeded_since[n.name] + self.scale_down_unneeded_time_s <= now_s]
        chosen = self._limit(ripe, len(nodes) - self.min_nodes)
        if chosen:
            self._last_scale_down_s = now_s
        return chosen

    def _in_cooldown(self, now_s: float) -> bool:
        after_add = (self._last_scale_up_s is not None
                     and self._last_scale_up_s + self.scale_down_delay_after_add_s > now_s)
        after_delete = (self._last_scale_down_s is not None
                        and self._last_scale_down_s + self.scale_down_delay_after_delete_s > now_s)
        return after_add or after_delete

    def _candidate_order(self, nodes: Sequence[NodeView]) -> list[NodeView]:
        low = [n for n in nodes if n.utilization < self.scale_down_utilization_threshold]
        big = float("inf")
        return sorted(low, key=lambda n: (self._unneeded_since.get(n.name, big),
                                          n.utilization, n.name))

    def _find_unneeded(self, nodes: Sequence[NodeView]) -> list[NodeView]:
        """FindNodesToRemove: simulate moving each candidate's pods away.

        Candidates are tried in order (previously unneeded first, then lower
        utilization, then name); accepted moves consume capacity on their
        destinations and travel with those pods if a destination is later
        removed too.
        """
        free_m = {n.name: to_millicores(n.free_cpu) for n in nodes}
        moved_in: dict[str, list[float]] = {n.name: [] for n in nodes}
        removed: set[str] = set()
        unneeded: list[NodeView] = []
        for cand in self._candidate_order(nodes):
            targets = [n.name for n in nodes if n.name != cand.name and n.name not in removed]
            trial = [free_m[t] for t in targets]
            pods = list(cand.pod_requests) + moved_in[cand.name]
            placed = _assign_first_fit(pods, trial)
            if any(slot is None and to_millicores(r) > 0 for r, slot in placed):
                continue
            for request, slot in placed:
                if slot is not None:
                    moved_in[targets[slot]].append(request)
            free_m.update(zip(targets, trial))
            removed.add(cand.name)
            unneeded.append(cand)
        return unneeded

    def _limit(self, ripe: list[NodeView], allowed: int) -> list[NodeView]:
        empty = [n for n in ripe if not n.pod_requests]
        drain = [n for n in ripe if n.pod_requests][: self.max_drain_parallelism]
        budget = min(allowed, self.max_scale_down_parallelism)
        return (empty + drain)[: max(0, budget)]
