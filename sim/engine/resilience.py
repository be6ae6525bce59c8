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

This module is where a retry, a timeout, a breaker check and a hedge happen.
The policy block compiled per edge is :class:`~sim.engine.call_policy.CallPolicy`;
its state (breaker, budget, bulkhead, throttle) per calling pod or service is
:class:`~sim.engine.clients.Clients`; the bulkhead's admission and waiters are
:class:`~sim.engine.bulkhead.Bulkhead`. Every attempt's row is written by the
calls log when both its sides have closed (``close_caller``, ``close_server``,
``close_unsent``).
"""
from __future__ import annotations

from ..status import (BREAKER_OPEN, BUDGET_EXHAUSTED, BULKHEAD_FULL, CANCELLED, DEADLINE,
                      DERIVE_CODE, ERROR, HEDGE_LOST, NONE, OK, REJECTED, THROTTLED, TIMEOUT)
from .bulkhead import FULL, WAIT
from .caller import Call, late_reason
from .clock import DeadlineQueue
from .messages import INF, Attempt
from .program import cancel_work

OUTCOME = {OK: "ok", ERROR: "error", TIMEOUT: "timeout", REJECTED: "rejected"}
"""How a retry budget hears of an attempt's end (anything else: ``cancelled``)."""


def _expire(att: Attempt) -> None:
    att.call._on_timeout(att)


class ResilientCall(Call):
    """A logical call with a policy: one or more attempts, then one outcome."""

    __slots__ = ("policy", "breaker", "budget", "bulkhead", "throttle", "outstanding",
                 "attempts_live", "retries", "previous_backoff_s", "hedges", "timer",
                 "hedge_timer", "last_after_timeout", "processed")

    def __init__(self, site, parent, request_id: int, deadline_s: float):
        # Call.__init__ inlined (one frame less per call; keep the two in step)
        self.site = site
        self.parent = parent
        self.request_id = request_id
        self.deadline_s = deadline_s
        self.attempts = 0
        self.done = False
        self.live = None
        self.endpoint = site.endpoint if site.pick_endpoint is None else site.pick_endpoint()
        # ``code`` is set with the outcome (on_reply, respond, _end), before anyone reads it
        self.processed = 0
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
        if policy.deadline_s is not None:
            self.deadline_s = min(self.deadline_s, site.env._now + policy.deadline_s)
        if policy.has_state:  # no breaker, budget, bulkhead or throttle: all four stay None
            self.breaker, self.budget, self.bulkhead, self.throttle = \
                site.clients.of(getattr(self.parent, "pod", None))
        self._try(False)

    def _try(self, is_retry: bool) -> None:
        """Admit one attempt through throttle, breaker and bulkhead, then send it."""
        site = self.site
        now = site.env._now
        if now >= self.deadline_s:
            if is_retry and self.budget is not None:
                self.budget.release_retry(now)
            self._end(TIMEOUT, DEADLINE)
            return
        self.attempts += 1
        att = Attempt(self, self.attempts, now, INF)
        att.is_retry = is_retry
        site.opened(att)  # open until both sides close (also while waiting for a bulkhead)
        if self.policy.gated:  # an edge without throttle, breaker or bulkhead skips all three
            if self.throttle is not None and self.throttle.should_reject(now, next(site.uniforms)):
                self._refused(att, THROTTLED, NONE)
                return
            if self.breaker is not None and not self.breaker.try_acquire(now):
                self._refused(att, BREAKER_OPEN, NONE)
                return
            if self.bulkhead is not None:
                admission = self.bulkhead.try_enter()
                if admission == WAIT:
                    self._wait_for_bulkhead(att)
                    return
                if admission == FULL:
                    # the breaker wraps the bulkhead: BulkheadFullException is a failure
                    if self.breaker is not None:
                        self.breaker.on_result(now, duration_s=0.0, ok=False)
                    self._refused(att, REJECTED, BULKHEAD_FULL)
                    return
        self._send(att)

    def _refused(self, att: Attempt, status: int, reason: int) -> None:
        """The attempt never left the caller: both sides close now."""
        site = self.site
        now = site.env._now
        att.status, att.reason = status, reason
        site.log.close_unsent(att, now)
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
                self.breaker.on_result(self.site.env._now, duration_s=0.0, ok=False)
            if self.done:
                return
            self._refused(att, REJECTED, BULKHEAD_FULL)

    def _release_bulkhead(self) -> None:
        bulkhead = self.bulkhead
        if bulkhead.release():
            waiter = bulkhead.waiters.popleft()
            if waiter.timer is not None:
                waiter.timer.cancel()
                waiter.timer = None
            call = waiter.call
            if call.done or waiter.caller_closed:  # gone meanwhile: pass the permit on
                self._release_bulkhead()
            else:
                call._send(waiter)

    def _send(self, att: Attempt) -> None:
        site, policy = self.site, self.policy
        now = site.env._now  # att.sent_s stays when the attempt began (bulkhead wait included)
        deadline = self.deadline_s
        timeout = policy.timeout_s
        if timeout is not None and now + timeout < deadline:
            deadline = now + timeout
        if policy.propagate:
            att.deadline_s = deadline
        if deadline < INF:
            timeouts = site.timeouts
            if timeouts is None:
                timeouts = site.timeouts = DeadlineQueue(site.clock, _expire)
            timeouts.add(deadline, att)
        if self.budget is not None:
            self.budget.on_attempt_sent(now, att.is_retry)
        self.outstanding += 1
        self.attempts_live.append(att)
        hedge = policy.hedge
        if hedge is not None and self.hedge_timer is None and self.hedges < hedge.max \
                and self.attempts < policy.max_attempts:
            self.hedge_timer = site.clock.call_in(hedge.delay, self._hedge, None)
        site.transmit(att)  # CallSite.send without its ``opened``: _try registered the attempt

    def _hedge(self, _unused) -> None:
        """No answer after the hedging delay: send another attempt alongside."""
        self.hedge_timer = None
        if self.done or not self.outstanding or self.attempts >= self.policy.max_attempts:
            return  # answered, or between attempts (a retry back-off is pending)
        now = self.site.env._now
        if self.budget is not None and not self.budget.try_acquire_retry(now, after_timeout=False):
            return  # hedges spend the retry budget too (gRFC A6 throttles hedges)
        self.hedges += 1
        self._try(True)

    # ------------------------------------------------------------ answers
    def respond(self, att: Attempt, status: int, reason: int) -> None:
        """The server side of ``att`` is over: :meth:`.caller.Call.respond`,
        answering through this class's :meth:`on_reply`. Counts a duplicate
        when the callee has done the work of this logical call a second time."""
        site = self.site
        if status == OK:
            self.processed += 1
            if self.processed == 2:
                site.duplicate(site.service_index, site.label, site.env._now)
        if att.caller_closed:
            att.code = DERIVE_CODE  # the row's code is the caller's view (it gave up)
            if att.reason == NONE:  # see Call.respond
                att.reason = late_reason(status, reason)
            site.log.close_server(att)
            return
        att.status, att.reason = status, reason
        site.log.close_server(att)  # the caller still waits: its close writes the row
        if site.latency is None and site.extra_latency is None:
            self.on_reply(att)  # CallSite.reply without network delay, inlined (one frame less)
        else:
            site.reply(att)

    @staticmethod
    def on_reply(att: Attempt) -> None:
        """The answer to ``att`` reached its call (``att.call``; a function of
        the attempt alone, as :meth:`.caller.Call.on_reply`)."""
        if att.caller_closed:
            return
        call = att.call
        call.outstanding -= 1  # _close_caller, inlined (once per attempt)
        live = call.attempts_live
        live.remove(att)
        site = call.site
        site.log.close_caller(att, site.env._now)  # the server closed first: writes the row
        status = att.status
        if status == OK and not call.done:  # settle the success before freeing the
            if live:  # bulkhead permit, which may start a waiting hedge
                call._abandon_others(HEDGE_LOST)
            call._end(OK, NONE)
        if call.policy.has_state:
            call._account(att, status)
        elif site.observe is not None and att.pod is not None:  # all _account does then
            site.observe(att.pod, status == OK)
        if status != OK:
            call._after_failure(att, status)

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
        """Stop waiting for a sent attempt (answered, timed out, abandoned)."""
        self.outstanding -= 1
        self.attempts_live.remove(att)
        site = self.site
        site.log.close_caller(att, site.env._now)

    def _account(self, att: Attempt, status: int) -> None:
        """Tell every policy how a sent attempt ended (``CANCELLED``: abandoned)."""
        site = self.site
        if self.policy.has_state:  # an edge with none of the four skips to outlier detection
            now = site.env._now
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
        elif status == CANCELLED:
            return
        if site.observe is not None and att.pod is not None:
            site.observe(att.pod, status == OK)

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
        if self.attempts >= policy.max_attempts or not policy.retries(att, status):
            self._end(status, att.reason, att.code)
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
        site = self.site
        for att in [a for a in bulkhead.waiters if a.call is self]:
            if att.timer is not None:
                att.timer.cancel()
                att.timer = None
            if bulkhead.semaphore:
                bulkhead.waiters.remove(att)
                bulkhead.give_up()
            att.status, att.reason = TIMEOUT, CANCELLED
            site.log.close_unsent(att, site.env._now)

    def _end(self, status: int, reason: int, code: int = DERIVE_CODE) -> None:
        if self.bulkhead is not None:
            self._drop_waiters()
        self.done = True
        if self.timer is not None or self.hedge_timer is not None:
            self._cancel_timers()
        if self.budget is not None:
            self.budget.on_call_done(self.site.env._now, status == OK, self.retries,
                                     self.last_after_timeout)
        self.status, self.reason, self.code = status, reason, code
        self.parent.child_done(self)

    def cancel(self) -> None:
        """The caller's own work stopped: abandon every attempt, report nothing."""
        if self.done:
            return
        self.done = True
        self._cancel_timers()
        if self.outstanding:
            self._abandon_others(CANCELLED)
        self._drop_waiters()
        if self.budget is not None:
            self.budget.on_call_done(self.site.env._now, ok=False, retries=self.retries,
                                     last_retry_after_timeout=self.last_after_timeout)
        self.status, self.reason = TIMEOUT, CANCELLED

    def _cancel_timers(self) -> None:
        """The call is over: no retry, deadline or hedge alarm may fire for it."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.hedge_timer is not None:
            self.hedge_timer.cancel()
            self.hedge_timer = None
