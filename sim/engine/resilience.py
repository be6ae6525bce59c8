"""Calls with a policy: timeouts and deadlines, retries with backoff and a
budget, circuit breaker, bulkhead, hedging and adaptive throttling.

Per attempt the layers apply in Resilience4j's default decorator order,
``Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(call)))))``, with the
client-side adaptive throttle (SRE book ch. 21) first: throttle -> breaker ->
bulkhead -> send with a per-attempt timer. Retries are outermost: each retry
goes through every layer again and is load balanced anew.

Deadlines (Go's ``context``): the call's deadline is the earlier of the
caller's own deadline (received from upstream if propagated to it) and
``deadline``; an attempt's is the earlier of that and ``timeout``. With
``propagate_deadline`` the callee receives the attempt's deadline and its
cancellation: queued work whose caller gave up is dropped, work waiting on
downstream calls stops, computing work stops at its next step. Without it the
callee keeps working for nobody (``reason = abandoned``), which is what
sustains a retry storm after its trigger is gone.

Policy state (breaker, budget, bulkhead, throttle) lives per calling pod by
default (``scope: pod``) or once per calling service (``scope: service``).
"""
from __future__ import annotations

from collections import deque
from typing import Optional

from ..policies.backoff import make_backoff
from ..policies.breaker import CircuitBreaker
from ..policies.budgets import make_budget
from ..policies.bulkhead import SemaphoreBulkhead, ThreadPoolBulkhead
from ..policies.throttle import AdaptiveThrottle
from .caller import Call
from .clock import DeadlineQueue, cancel
from .messages import INF, Attempt
from .program import cancel_work
from .status import (BREAKER_OPEN, BUDGET_EXHAUSTED, BULKHEAD_FULL, CANCELLED, DEADLINE,
                     ERROR, HEDGE_LOST, NONE, OK, REJECTED, RETRYABLE_NAMES, THROTTLED, TIMEOUT)

OUTCOME = {OK: "ok", ERROR: "error", TIMEOUT: "timeout", REJECTED: "rejected"}
LOCAL = (BREAKER_OPEN, THROTTLED)


class CallPolicy:
    """A scenario ``CallPolicy`` block compiled for the engine (times in seconds)."""

    def __init__(self, spec):
        self.spec = spec
        self.timeout_s: Optional[float] = spec.timeout
        self.deadline_s: Optional[float] = spec.deadline
        self.propagate: bool = spec.propagate_deadline
        retry = spec.retry
        self.max_attempts = retry.max_attempts if retry else 1
        self.retry_on = frozenset(RETRYABLE_NAMES[name] for name in retry.retry_on) if retry else frozenset()
        self.backoff = make_backoff(retry.backoff.model_dump()) if retry else None
        self.budget_spec = retry.budget if retry else None
        self.breaker_spec = spec.circuit_breaker
        self.bulkhead_spec = spec.bulkhead
        self.hedge = spec.hedge
        self.throttle_spec = spec.throttle

    @staticmethod
    def is_plain(spec) -> bool:
        """True if the block asks for nothing (a plain call is faster)."""
        return (spec.timeout is None and spec.deadline is None and not spec.propagate_deadline
                and spec.retry is None and spec.circuit_breaker is None and spec.bulkhead is None
                and spec.hedge is None and spec.throttle is None)


class Bulkhead:
    """A bulkhead with the waiting the pure policies leave to the simulator."""

    def __init__(self, spec):
        self.semaphore = spec.type == "semaphore"
        self.policy = (SemaphoreBulkhead(spec.max_concurrent_calls, spec.max_wait)
                       if self.semaphore else ThreadPoolBulkhead(spec.core, spec.queue))
        self.waiters: deque = deque()

    def try_enter(self) -> str:
        """``"go"``, ``"wait"`` (queued for a permit) or ``"full"``."""
        if self.semaphore:
            if self.policy.try_enter():
                return "go"
            if self.policy.may_wait:
                self.policy.start_waiting()
                return "wait"
            return "full"
        admission = self.policy.try_submit()
        return {"started": "go", "queued": "wait", "rejected": "full"}[admission]

    def release(self) -> bool:
        """A call left; True if a waiter now holds its permit."""
        return self.policy.release() if self.semaphore else self.policy.on_done()

    def give_up(self) -> None:
        self.policy.stop_waiting()


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
        key = caller_pod.id if caller_pod is not None else -1
        found = self._by_caller.get(key)
        if found is None:
            found = self._by_caller[key] = (self.breaker(caller_pod), self.budget(caller_pod),
                                            self.bulkhead(caller_pod), self.throttle(caller_pod))
        return found

    @staticmethod
    def _key(spec, caller_pod) -> object:
        if caller_pod is None or getattr(spec, "scope", "pod") == "service":
            return "service"
        return caller_pod.id

    def _component(self, store: dict, spec, caller_pod, build):
        """The instance of one policy component for a caller, made on first use."""
        if spec is None:
            return None
        key = self._key(spec, caller_pod)
        found = store.get(key)
        if found is None:
            found = store[key] = build(spec, caller_pod if key != "service" else None)
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


def _expire(att: Attempt) -> None:
    att.call._on_timeout(att)


def _waiting(att: Attempt) -> bool:
    return not att.caller_closed


class ResilientCall(Call):
    """A logical call with a policy: one or more attempts, then one outcome."""

    __slots__ = ("policy", "breaker", "budget", "bulkhead", "throttle", "outstanding",
                 "attempts_live", "retries", "previous_backoff_s", "hedges", "timer",
                 "hedge_timer", "last_after_timeout")

    def __init__(self, site, parent, request_id: int, deadline_s: float):
        super().__init__(site, parent, request_id, deadline_s)
        self.policy = site.policy
        self.breaker = self.budget = self.bulkhead = self.throttle = None
        self.outstanding = 0
        self.attempts_live = []
        self.retries = 0
        self.previous_backoff_s = None
        self.hedges = 0
        self.timer = None
        self.hedge_timer = None
        self.last_after_timeout = False

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        site, policy = self.site, self.policy
        now = site.clock.env._now
        if policy.deadline_s is not None:
            self.deadline_s = min(self.deadline_s, now + policy.deadline_s)
        self.breaker, self.budget, self.bulkhead, self.throttle = \
            site.clients.of(getattr(self.parent, "pod", None))
        self._try(False)

    def _try(self, is_retry: bool) -> None:
        """Admit one attempt through throttle, breaker and bulkhead, then send it."""
        site = self.site
        now = site.clock.env._now
        if now >= self.deadline_s:
            if is_retry and self.budget is not None:
                self.budget.release_retry(now)
            self._end(TIMEOUT, DEADLINE)
            return
        self.attempts += 1
        att = Attempt(self, self.attempts, now, INF)
        att.is_retry = is_retry
        site.opened(att)  # open until both sides close (also while waiting for a bulkhead)
        if self.throttle is not None and self.throttle.should_reject(now, next(site.uniforms)):
            self._refused(att, THROTTLED, NONE)
            return
        if self.breaker is not None and not self.breaker.try_acquire(now):
            self._refused(att, BREAKER_OPEN, NONE)
            return
        if self.bulkhead is not None:
            admission = self.bulkhead.try_enter()
            if admission == "wait":
                self._wait_for_bulkhead(att)
                return
            if admission == "full":
                if self.breaker is not None:
                    self.breaker.on_result(now, 0.0, False)
                self._refused(att, REJECTED, BULKHEAD_FULL)
                return
        self._send(att)

    def _refused(self, att: Attempt, status: int, reason: int) -> None:
        """The attempt never left the caller: both sides close now."""
        site = self.site
        now = site.clock.env._now
        att.status, att.reason = status, reason
        att.ended_s = now
        att.caller_closed = att.server_closed = True
        site.log.closed(att, site.caller_index, site.service_index)
        if att.is_retry and self.budget is not None:
            self.budget.release_retry(now)
        self._after_failure(att, status)

    def _wait_for_bulkhead(self, att: Attempt) -> None:
        bulkhead = self.bulkhead
        bulkhead.waiters.append(att)
        spec = self.policy.bulkhead_spec
        if bulkhead.semaphore and spec.max_wait > 0:
            att.timer = self.site.clock.call_in(spec.max_wait, self._bulkhead_timeout, att)

    def _bulkhead_timeout(self, att: Attempt) -> None:
        att.timer = None
        bulkhead = self.bulkhead
        if att in bulkhead.waiters:
            bulkhead.waiters.remove(att)
            bulkhead.give_up()
            if self.breaker is not None:
                self.breaker.on_result(self.site.clock.env._now, 0.0, False)
            if self.done:
                return
            self._refused(att, REJECTED, BULKHEAD_FULL)

    def _release_bulkhead(self) -> None:
        bulkhead = self.bulkhead
        if bulkhead.release():
            waiter = bulkhead.waiters.popleft()
            cancel(waiter.timer)
            waiter.timer = None
            call = waiter.call
            if call.done or waiter.caller_closed:  # gone meanwhile: pass the permit on
                self._release_bulkhead()
            else:
                call._send(waiter)

    def _send(self, att: Attempt) -> None:
        site, policy = self.site, self.policy
        clock = site.clock
        now = clock.env._now  # att.sent_s stays when the attempt began (bulkhead wait included)
        deadline = self.deadline_s
        if policy.timeout_s is not None and now + policy.timeout_s < deadline:
            deadline = now + policy.timeout_s
        if policy.propagate:
            att.deadline_s = deadline
        if deadline < INF:
            timeouts = site.timeouts
            if timeouts is None:
                timeouts = site.timeouts = DeadlineQueue(clock, _expire, _waiting)
            timeouts.add(deadline, att)
        if self.budget is not None:
            self.budget.on_attempt_sent(now, att.is_retry)
        self.outstanding += 1
        self.attempts_live.append(att)
        hedge = policy.hedge
        if hedge is not None and self.hedge_timer is None and self.hedges < hedge.max \
                and self.attempts < policy.max_attempts:
            self.hedge_timer = clock.call_in(hedge.delay, self._hedge, None)
        site.send(att)

    def _hedge(self, _unused) -> None:
        """No answer after the hedging delay: send another attempt alongside."""
        self.hedge_timer = None
        if self.done or not self.outstanding or self.attempts >= self.policy.max_attempts:
            return  # answered, or between attempts (a retry back-off is pending)
        now = self.site.clock.env._now
        if self.budget is not None and not self.budget.try_acquire_retry(now, False):
            return  # hedges spend the retry budget too (gRFC A6 throttles hedges)
        self.hedges += 1
        self._try(True)

    # ------------------------------------------------------------ answers
    def on_reply(self, att: Attempt) -> None:
        if att.caller_closed:
            return
        site = self.site  # _close_caller, inlined (once per attempt)
        att.ended_s = site.clock.env._now
        att.caller_closed = True
        self.outstanding -= 1
        self.attempts_live.remove(att)
        site.log.closed(att, site.caller_index, site.service_index)  # the server closed first
        status = att.status
        if status == OK:
            if not self.done:  # settle the success before freeing the bulkhead permit,
                if self.attempts_live:  # which may start a waiting hedge
                    self._abandon_others(HEDGE_LOST)
                self._end(OK, NONE)
            self._account(att, status)
        else:
            self._account(att, status)
            self._after_failure(att, status)

    def _on_timeout(self, att: Attempt) -> None:
        if att.caller_closed:
            return
        att.status, att.reason = TIMEOUT, NONE
        self._close_caller(att)
        if self.policy.propagate:
            cancel_work(att)
        self._account(att, TIMEOUT)
        self._after_failure(att, TIMEOUT)

    def _close_caller(self, att: Attempt) -> None:
        site = self.site
        att.ended_s = site.clock.env._now
        att.caller_closed = True
        self.outstanding -= 1
        self.attempts_live.remove(att)
        if att.server_closed:
            site.log.closed(att, site.caller_index, site.service_index)

    def _account(self, att: Attempt, status: int) -> None:
        """Tell every policy how a sent attempt ended (``CANCELLED``: abandoned)."""
        now = self.site.clock.env._now
        if self.budget is not None:
            self.budget.on_attempt_done(now, att.is_retry, OUTCOME.get(status, "cancelled"))
        if self.bulkhead is not None:
            self._release_bulkhead()
        if status == CANCELLED:
            return
        if self.breaker is not None:
            self.breaker.on_result(now, now - att.sent_s, status == OK)
        if self.throttle is not None and status in (OK, ERROR):
            self.throttle.on_accepted(now)
        pod = att.pod
        if pod is not None and self.site.service.outlier is not None:
            self.site.service.observe_result(pod, status == OK)

    def _abandon_others(self, reason: int) -> None:
        """Stop waiting for the other attempts (hedges that lost, or a cancelled call)."""
        for att in list(self.attempts_live):
            att.status, att.reason = TIMEOUT, reason
            self._close_caller(att)
            if self.policy.propagate:
                cancel_work(att)
            self._account(att, CANCELLED)

    # ---------------------------------------------------------- retries
    def _after_failure(self, att: Attempt, status: int) -> None:
        if self.done or self.outstanding:
            return  # answered already, or hedged attempts still running
        policy = self.policy
        if status not in policy.retry_on or self.attempts >= policy.max_attempts:
            self._end(status, att.reason)
            return
        clock = self.site.clock
        now = clock.env._now
        if now >= self.deadline_s:
            self._end(TIMEOUT, DEADLINE)
            return
        after_timeout = status == TIMEOUT
        if self.budget is not None and not self.budget.try_acquire_retry(now, after_timeout):
            self._end(BUDGET_EXHAUSTED, NONE)
            return
        self.last_after_timeout = after_timeout
        delay = policy.backoff.delay_s(self.retries, next(self.site.uniforms), self.previous_backoff_s)
        self.previous_backoff_s = delay
        self.retries += 1
        if now + delay >= self.deadline_s:
            if self.budget is not None:
                self.budget.release_retry(now)
            self.timer = clock.call_in(self.deadline_s - now, self._deadline_passed, None)
        elif delay > 0.0:
            self.timer = clock.call_in(delay, self._retry, None)
        else:
            self._try(True)

    def _retry(self, _unused) -> None:
        self.timer = None
        self._try(True)

    def _deadline_passed(self, _unused) -> None:
        self.timer = None
        self._end(TIMEOUT, DEADLINE)

    # -------------------------------------------------------------- end
    def _drop_waiters(self) -> None:
        """Attempts of this call still waiting for a bulkhead permit close now."""
        bulkhead = self.bulkhead
        if bulkhead is None:
            return
        for att in [a for a in bulkhead.waiters if a.call is self]:
            cancel(att.timer)
            att.timer = None
            if bulkhead.semaphore:
                bulkhead.waiters.remove(att)
                bulkhead.give_up()
            att.status, att.reason = TIMEOUT, CANCELLED
            att.ended_s = self.site.clock.env._now
            att.caller_closed = att.server_closed = True
            site = self.site
            site.log.closed(att, site.caller_index, site.service_index)

    def _end(self, status: int, reason: int) -> None:
        if self.bulkhead is not None:
            self._drop_waiters()
        self.done = True
        if self.timer is not None:
            cancel(self.timer)
            self.timer = None
        if self.hedge_timer is not None:
            cancel(self.hedge_timer)
            self.hedge_timer = None
        if self.budget is not None:
            self.budget.on_call_done(self.site.clock.env._now, status == OK, self.retries,
                                     self.last_after_timeout)
        self.status, self.reason = status, reason
        self.parent.child_done(self)

    def cancel(self) -> None:
        """The caller's own work stopped: abandon every attempt, report nothing."""
        if self.done:
            return
        self.done = True
        cancel(self.timer)
        cancel(self.hedge_timer)
        self.timer = self.hedge_timer = None
        if self.outstanding:
            self._abandon_others(CANCELLED)
        self._drop_waiters()
        if self.budget is not None:
            self.budget.on_call_done(self.site.clock.env._now, False, self.retries,
                                     self.last_after_timeout)
        self.status, self.reason = TIMEOUT, CANCELLED
