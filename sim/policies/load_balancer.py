"""Load balancing over Ready endpoints, as Envoy's load balancers choose.

Pure: no SimPy. Randomness comes from an iterator of uniforms in [0, 1)
handed to the constructor (the simulator passes a named stream). Endpoints are
any objects; least-request reads their ``in_flight`` count (active requests).

Envoy source: ``source/common/upstream/load_balancer_impl.cc``
(``RoundRobinLoadBalancer``, ``RandomLoadBalancer``,
``LeastRequestLoadBalancer::unweightedHostPick``).
"""
from __future__ import annotations

from operator import attrgetter
from typing import Callable, Iterator, Sequence, TypeVar

E = TypeVar("E")


class RoundRobin:
    """Each pick takes the next endpoint in turn (Envoy round robin, equal weights).

    The rotation index survives endpoint-set changes, taken modulo the new size.
    """

    __slots__ = ("_next",)

    def __init__(self, start: int = 0):
        self._next = start

    def pick(self, endpoints: Sequence[E]) -> E:
        i = self._next % len(endpoints)
        self._next = i + 1
        return endpoints[i]


class RandomChoice:
    """Uniformly random endpoint (Envoy RANDOM; also kube-proxy iptables mode)."""

    __slots__ = ("_uniforms",)

    def __init__(self, uniforms: Iterator[float]):
        self._uniforms = uniforms

    def pick(self, endpoints: Sequence[E]) -> E:
        return endpoints[int(next(self._uniforms) * len(endpoints))]


class LeastRequest:
    """Power of ``choice_count`` choices (Envoy LEAST_REQUEST, unweighted hosts).

    Draw ``choice_count`` endpoints uniformly *with replacement*; keep the first
    unless a later one has strictly fewer active requests.
    """

    __slots__ = ("_uniforms", "choice_count", "_load")

    def __init__(self, uniforms: Iterator[float], choice_count: int = 2,
                 load: Callable[[E], int] = attrgetter("in_flight")):
        if choice_count < 1:
            raise ValueError("choice_count must be >= 1")
        self._uniforms = uniforms
        self.choice_count = choice_count
        self._load = load

    def pick(self, endpoints: Sequence[E]) -> E:
        n, draw, load = len(endpoints), self._uniforms, self._load
        best = endpoints[int(next(draw) * n)]
        best_load = load(best)
        for _ in range(self.choice_count - 1):
            candidate = endpoints[int(next(draw) * n)]
            candidate_load = load(candidate)
            if candidate_load < best_load:
                best, best_load = candidate, candidate_load
        return best


def make_load_balancer(kind: str, uniforms: Iterator[float], choice_count: int = 2):
    """Build the policy named in the scenario (``round_robin | random | least_request``)."""
    if kind == "round_robin":
        return RoundRobin()
    if kind == "random":
        return RandomChoice(uniforms)
    if kind == "least_request":
        return LeastRequest(uniforms, choice_count)
    raise ValueError(f"unknown load balancer {kind!r}")
