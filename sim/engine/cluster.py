"""Nodes, the scheduler and the cluster autoscaler.

Without a ``cluster:`` block capacity is unlimited and pods bind at once.
With one, each node offers allocatable CPU; a pod needs its ``cpu_request``
and stays Pending until a node has room (kube-scheduler's fit filter and
LeastAllocated score, :mod:`sim.policies.scheduling`). The cluster
autoscaler (:mod:`sim.policies.cluster_autoscaler`) scans every
``scan_interval``: it adds nodes for unschedulable pods (they join after
``provisioning_delay``) and removes nodes unneeded for
``scale_down_unneeded_time`` (their pods are evicted and replaced).
"""
from __future__ import annotations

from typing import Callable, Optional

from ..policies.cluster_autoscaler import ClusterAutoscalerPolicy, NodeView
from ..policies.scheduling import choose_node
from ..status import NO_POD, NO_SERVICE, NODE_ADDED, NODE_PROVISIONING, NODE_REMOVED, POD_PENDING


class Node:
    """A node with allocatable CPU and the pods bound to it."""

    __slots__ = ("name", "allocatable_cpu", "requested_cpu", "pods", "created_s", "removed_s")

    def __init__(self, name: str, cpu: float, created_s: float):
        self.name = name
        self.allocatable_cpu = cpu
        self.requested_cpu = 0.0
        self.pods: list = []
        self.created_s = created_s
        self.removed_s: Optional[float] = None

    @property
    def free_cpu(self) -> float:
        return self.allocatable_cpu - self.requested_cpu

    def view(self) -> NodeView:
        return NodeView(self.name, self.allocatable_cpu, self.requested_cpu,
                        tuple(p.cpu_request for p in self.pods), self.created_s)


class Cluster:
    """Nodes and the Pending queue; binds pods when room appears."""

    def __init__(self, spec, clock, events):
        self.spec = spec
        self.clock = clock
        self.events = events
        self.nodes: list[Node] = []
        self.pending: list = []  # (pod, bind callback), FIFO
        self.provisioning = 0
        self._count = 0
        self.node_seconds = 0.0
        self._last_change_s = 0.0
        for _ in range(spec.nodes.count):
            self._add_node()
        autoscaler = spec.autoscaler
        self.autoscaler: Optional[ClusterAutoscalerPolicy] = None
        if autoscaler is not None:
            self.autoscaler = ClusterAutoscalerPolicy(
                min_nodes=autoscaler.min_nodes, max_nodes=autoscaler.max_nodes,
                node_cpu=spec.nodes.cpu,
                scale_down_utilization_threshold=autoscaler.scale_down_utilization_threshold,
                scale_down_unneeded_time_s=autoscaler.scale_down_unneeded_time,
                scale_down_delay_after_add_s=autoscaler.scale_down_delay_after_add,
                scan_interval_s=autoscaler.scan_interval)

    # -------------------------------------------------------------- nodes
    def _account(self) -> None:
        now = self.clock.now
        self.node_seconds += len(self.nodes) * (now - self._last_change_s)
        self._last_change_s = now

    def _add_node(self) -> Node:
        self._account()
        node = Node(f"node-{self._count}", self.spec.nodes.cpu, self.clock.now)
        self._count += 1
        self.nodes.append(node)
        self.events.append(self.clock.now, NO_SERVICE, NO_POD, NODE_ADDED, node.name)
        return node

    def node_hours(self) -> float:
        self._account()
        return self.node_seconds / 3600.0

    # ---------------------------------------------------------- scheduling
    def schedule(self, pod, bind: Callable) -> None:
        """Bind ``pod`` now if a node has room, else keep it Pending."""
        node = choose_node(self.nodes, pod.cpu_request)
        if node is None:
            self.pending.append((pod, bind))
            self.events.append(self.clock.now, pod.service.index, pod.id, POD_PENDING,
                               f"no node has {pod.cpu_request:g} CPU free")
            return
        self._bind(node, pod, bind)

    def _bind(self, node: Node, pod, bind: Callable) -> None:
        node.pods.append(pod)
        node.requested_cpu += pod.cpu_request
        bind(pod, node)

    def unschedule(self, pod) -> None:
        self.pending = [(p, b) for p, b in self.pending if p is not pod]

    def release(self, pod) -> None:
        """A pod left its node: free its request and try the Pending pods."""
        node = pod.node
        if node is not None and pod in node.pods:
            node.pods.remove(pod)
            node.requested_cpu -= pod.cpu_request
        self.retry_pending()

    def retry_pending(self) -> None:
        still = []
        for pod, bind in self.pending:
            node = choose_node(self.nodes, pod.cpu_request)
            if node is None:
                still.append((pod, bind))
            else:
                self._bind(node, pod, bind)
        self.pending = still

    # ---------------------------------------------------- cluster autoscaler
    def autoscaler_process(self, env, evict: Callable):
        """The cluster-autoscaler loop: scale up for Pending pods, down for idle nodes."""
        policy, spec = self.autoscaler, self.spec.autoscaler
        while True:
            yield env.timeout(spec.scan_interval)
            now = env.now
            views = [n.view() for n in self.nodes]
            wanted = policy.scale_up_nodes(now, [p.cpu_request for p, _ in self.pending], views,
                                           upcoming_nodes=self.provisioning)
            for _ in range(wanted):
                self.provisioning += 1
                self.events.append(now, NO_SERVICE, NO_POD, NODE_PROVISIONING,
                                   f"{len(self.pending)} pods pending")
                self.clock.call_in(spec.provisioning_delay, self._node_ready, None)
            if wanted:
                continue
            for view in policy.scale_down_candidates(now, views):
                self._remove_node(view.name, evict)

    def _node_ready(self, _unused) -> None:
        self.provisioning -= 1
        self._add_node()
        self.retry_pending()

    def _remove_node(self, name: str, evict: Callable) -> None:
        node = next((n for n in self.nodes if n.name == name), None)
        if node is None:
            return
        self._account()
        self.nodes.remove(node)
        node.removed_s = self.clock.now
        self.events.append(self.clock.now, NO_SERVICE, NO_POD, NODE_REMOVED, name)
        for pod in list(node.pods):
            evict(pod)
