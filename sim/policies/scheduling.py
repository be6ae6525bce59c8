"""kube-scheduler CPU fit and LeastAllocated scoring, as pure functions.

Sources imitated (kubernetes/kubernetes, current master):

* ``pkg/scheduler/framework/plugins/noderesources/fit.go`` -- ``fitsRequest``
  (Filter: a pod fits when its CPU request is not larger than
  ``allocatable - requested``; a zero request always fits CPU-wise).
* ``pkg/scheduler/framework/plugins/noderesources/least_allocated.go`` --
  ``leastResourceScorer`` / ``leastRequestedScore``: per resource
  ``(capacity - requested) * 100 // capacity`` in integer millicores,
  where ``requested`` already includes the incoming pod; a pod without a
  CPU request counts as 100m for scoring (``schedutil.DefaultMilliCPURequest``).
* ``pkg/scheduler/schedule_one.go`` ``selectHost`` picks uniformly at random
  among top-scoring nodes; here ties go to the lexicographically smallest
  node name so runs are deterministic.

Only CPU is modelled: memory, pod-count limits and the other default score
plugins (BalancedAllocation, ImageLocality, TaintToleration, affinity,
topology spread) are out of scope. Clusters above 100 nodes would also be
sampled by ``percentageOfNodesToScore``; not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, TypeVar

MAX_NODE_SCORE = 100                # framework.MaxNodeScore
DEFAULT_MILLI_CPU_REQUEST = 100     # schedutil.DefaultMilliCPURequest (scoring only)


def to_millicores(cpu: float) -> int:
    """Cores -> integer millicores (inputs are expected at millicore precision)."""
    return round(cpu * 1000)


class CpuNode(Protocol):
    """Anything with a name, allocatable CPU and requested CPU (cores)."""

    name: str
    allocatable_cpu: float
    requested_cpu: float


@dataclass(frozen=True)
class NodeCapacity:
    """Minimal node view for scheduling: CPU in cores."""

    name: str
    allocatable_cpu: float
    requested_cpu: float = 0.0

    def __post_init__(self) -> None:
        if self.allocatable_cpu < 0 or self.requested_cpu < 0:
            raise ValueError("CPU amounts must be >= 0")

    @property
    def free_cpu(self) -> float:
        """Allocatable minus requested (may be negative if overcommitted)."""
        return self.allocatable_cpu - self.requested_cpu


N = TypeVar("N", bound=CpuNode)


def fits(node_free_cpu: float, request: float) -> bool:
    """NodeResourcesFit Filter for CPU: ``request <= free`` (0 always fits)."""
    request_m = to_millicores(request)
    return request_m <= 0 or request_m <= to_millicores(node_free_cpu)


def least_allocated_score(allocatable_cpu: float, requested_cpu: float, request: float) -> int:
    """LeastAllocated CPU score in [0, 100] after placing ``request``."""
    capacity = to_millicores(allocatable_cpu)
    pod_m = to_millicores(request) or DEFAULT_MILLI_CPU_REQUEST
    requested = to_millicores(requested_cpu) + pod_m
    if capacity <= 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def feasible_nodes(nodes: Iterable[N], request: float) -> list[N]:
    """Nodes passing the CPU Filter for a pod requesting ``request`` cores."""
    return [n for n in nodes if fits(n.allocatable_cpu - n.requested_cpu, request)]


def choose_node(nodes: Iterable[N], request: float) -> N | None:
    """Highest LeastAllocated score among feasible nodes; ties by name.

    Returns None when no node fits (the pod stays Pending/unschedulable).
    """
    best: N | None = None
    best_key: tuple[int, str] | None = None
    for node in feasible_nodes(nodes, request):
        score = least_allocated_score(node.allocatable_cpu, node.requested_cpu, request)
        key = (-score, node.name)
        if best_key is None or key < best_key:
            best, best_key = node, key
    return best
