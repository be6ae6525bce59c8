"""The policy state of the callers of one edge: circuit breakers, retry
budgets, bulkheads and adaptive throttles, one of each per scope.

State lives per calling pod by default (``scope: pod``, as a client library
in each replica keeps its own) or once per calling service (``scope:
service``, as a sidecar or a shared proxy would). An external client (the
workload) has no pod and always uses the service-wide instance.
"""
from __future__ import annotations

from ..policies.breaker import CircuitBreaker
from ..policies.budgets import make_budget
from ..policies.throttle import AdaptiveThrottle
from ..status import NO_POD
from .bulkhead import Bulkhead
from .call_policy import CallPolicy

SERVICE_SCOPE = "service"  # the key of the one instance shared by a whole calling service


class Clients:
    """The policy state of every caller of one edge, keyed by scope."""

    def __init__(self, site_name: str, policy: CallPolicy, on_breaker_transition):
        self.name = site_name
        self.policy = policy
        self._on_transition = on_breaker_transition
        self._breakers: dict = {}
        self._budgets: dict = {}
        self._bulkheads: dict = {}
        self._throttles: dict = {}
        self._by_caller: dict = {}

    def of(self, caller_pod) -> tuple:
        """(breaker, budget, bulkhead, throttle) of a calling pod (None: an external client)."""
        key = caller_pod.id if caller_pod is not None else NO_POD
        found = self._by_caller.get(key)
        if found is None:
            found = self._by_caller[key] = (self.breaker(caller_pod), self.budget(caller_pod),
                                            self.bulkhead(caller_pod), self.throttle(caller_pod))
        return found

    @staticmethod
    def _key(spec, caller_pod) -> object:
        if caller_pod is None or getattr(spec, "scope", "pod") == SERVICE_SCOPE:
            return SERVICE_SCOPE
        return caller_pod.id

    def _component(self, store: dict, spec, caller_pod, build):
        """The instance of one policy component for a caller, made on first use."""
        if spec is None:
            return None
        key = self._key(spec, caller_pod)
        found = store.get(key)
        if found is None:
            found = store[key] = build(spec, caller_pod if key != SERVICE_SCOPE else None)
        return found

    def breaker(self, caller_pod):
        def build(spec, owner):
            return CircuitBreaker(**spec.model_dump(exclude={"scope"}),
                                  on_transition=lambda t, old, new: self._on_transition(owner, old, new, t))
        return self._component(self._breakers, self.policy.breaker_spec, caller_pod, build)

    def budget(self, caller_pod):
        return self._component(self._budgets, self.policy.budget_spec, caller_pod,
                               lambda spec, _owner: make_budget(spec.model_dump()))

    def bulkhead(self, caller_pod):
        return self._component(self._bulkheads, self.policy.bulkhead_spec, caller_pod,
                               lambda spec, _owner: Bulkhead(spec))

    def throttle(self, caller_pod):
        return self._component(self._throttles, self.policy.throttle_spec, caller_pod,
                               lambda spec, _owner: AdaptiveThrottle(spec.k, spec.window))

    def open_breakers(self) -> tuple[int, int]:
        """(open, half_open) breakers on this edge now."""
        states = [b.state for b in self._breakers.values()]
        return states.count("open"), states.count("half_open")
