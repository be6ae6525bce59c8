"""Retry budgets: may this failed call be retried, given the client's recent history?

One interface (:class:`RetryBudget`) over four real designs:

* :class:`EnvoyRetryBudget`: Envoy cluster circuit breaker ``retry_budget``
  (``source/common/upstream/resource_manager_impl.h`` ``RetryBudgetImpl``,
  ``source/common/router/retry_state_impl.cc``);
* :class:`TokenBucketRetryThrottle`: gRPC retry throttling, gRFC A6, in
  integer milli-tokens as grpc-java's ``RetriableStream.Throttle``;
* :class:`AwsRetryQuota`: AWS SDK standard retry mode, botocore
  ``retries/standard.py`` ``RetryQuotaChecker`` and ``retries/quota.py``;
* :class:`RetryRatioBudget`: the per-client retry budget of the Google SRE
  book, ch. 21 "Handling Overload" (retry only while retries/requests < 10%).

Call protocol (the simulator's side), per client:

1. ``on_attempt_sent(now_s, is_retry)`` when an attempt leaves for a server.
2. ``on_attempt_done(now_s, is_retry, outcome)`` exactly once per *sent*
   attempt, ``outcome`` in ``"ok" | "error" | "timeout" | "rejected"``
   (``rejected`` = refused by the server, e.g. load shedding or 503/429).
   Attempts refused locally (breaker, throttle, bulkhead) were never sent
   and are not reported.
3. ``try_acquire_retry(now_s, after_timeout)`` before scheduling a retry;
   True means the retry may be sent and is now counted against the budget.
4. Every granted retry ends in exactly one of ``on_attempt_done(...,
   is_retry=True, ...)`` (it was sent) or ``release_retry(now_s)`` (it was
   not: deadline passed during the back-off, local rejection, ...).
5. ``on_call_done(now_s, ok, retries, last_retry_after_timeout)`` when the
   logical call ends, ``retries`` being the number of retries granted to it.

No clock, RNG or I/O is read: time comes in as ``now_s``.
"""
from __future__ import annotations

import abc
import math
from typing import Mapping

from .throttle import SlidingWindowCounter

OUTCOMES = ("ok", "error", "timeout", "rejected", "cancelled")
"""``cancelled``: the caller abandoned the attempt (a hedge that lost, a cancelled
parent): no status was received, so it neither earns nor costs tokens."""


_OUTCOME_SET = frozenset(OUTCOMES)


def _check_outcome(outcome: str) -> str:
    if outcome not in _OUTCOME_SET:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    return outcome


def _number(name: str, value: object, low: float, high: float = math.inf,
            low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if (value <= low if low_open else value < low) or value > high:
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}"
                         f"{'' if high == math.inf else f' and <= {high}'}, got {value!r}")
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


class RetryBudget(abc.ABC):
    """The hooks the simulator calls; implementations override what they use.

    The hooks a design does not need are deliberate no-ops.
    """

    def on_attempt_sent(self, now_s: float, is_retry: bool) -> None:
        """An attempt (first try or retry) was sent."""

    def on_attempt_done(self, now_s: float, is_retry: bool, outcome: str) -> None:
        """A sent attempt ended with ``outcome``."""
        _check_outcome(outcome)

    @abc.abstractmethod
    def try_acquire_retry(self, now_s: float, after_timeout: bool) -> bool:
        """May a retry be sent now? True = yes, and it is counted."""

    def release_retry(self, now_s: float) -> None:
        """A granted retry will not be sent after all."""

    def on_call_done(self, now_s: float, ok: bool, retries: int,
                     last_retry_after_timeout: bool = False) -> None:
        """The logical call ended (``retries`` = retries granted to it)."""
        if type(retries) is not int or retries < 0:
            _count("retries", retries)


class EnvoyRetryBudget(RetryBudget):
    """Envoy ``circuit_breakers.thresholds.retry_budget``.

    Concurrent active retries are limited to
    ``max(int(budget_percent / 100 * (active + pending requests)), min_retry_concurrency)``
    (``RetryBudgetImpl::max``; the double is truncated to an integer). A retry
    is admitted while ``active_retries < max`` (``canCreate``). Envoy holds the
    retry resource from the moment the retry is scheduled (``retries().inc()``,
    so also during its back-off) until that retry attempt finishes or the
    request is destroyed (``resetRetry``). Active and pending requests count
    every upstream request in flight, retries included; the simulator has no
    separate connection-pool queue here, so ``active_requests`` is their sum:
    attempts sent and not yet done.
    """

    def __init__(self, budget_percent: float = 20.0, min_retry_concurrency: int = 3):
        self.budget_percent = _number("budget_percent", budget_percent, 0.0, 100.0)
        self.min_retry_concurrency = _count("min_retry_concurrency", min_retry_concurrency)
        self.active_requests = 0
        self.active_retries = 0

    @property
    def max_active_retries(self) -> int:
        return max(int(self.budget_percent / 100.0 * self.active_requests),
                   self.min_retry_concurrency)

    def on_attempt_sent(self, now_s: float, is_retry: bool) -> None:
        self.active_requests += 1

    def on_attempt_done(self, now_s: float, is_retry: bool, outcome: str) -> None:
        _check_outcome(outcome)
        if self.active_requests == 0:
            raise ValueError("on_attempt_done without a matching on_attempt_sent")
        self.active_requests -= 1
        if is_retry:
            self._drop_retry()

    def try_acquire_retry(self, now_s: float, after_timeout: bool) -> bool:
        if self.active_retries >= self.max_active_retries:
            return False
        self.active_retries += 1
        return True

    def release_retry(self, now_s: float) -> None:
        self._drop_retry()

    def _drop_retry(self) -> None:
        if self.active_retries == 0:
            raise ValueError("a retry ended that the budget never granted")
        self.active_retries -= 1


def _to_milli(name: str, value: float) -> int:
    """Whole thousandths, extra digits truncated (gRPC keeps 3 decimal places);
    the 1e-6 absorbs binary noise such as ``0.57 * 1000 == 569.999...``."""
    milli = math.floor(value * 1000 + 1e-6)
    if milli <= 0:
        raise ValueError(f"{name} must be at least 0.001, got {value!r}")
    return milli


class TokenBucketRetryThrottle(RetryBudget):
    """gRPC retry throttling (gRFC A6 ``retryThrottling``).

    ``token_count`` starts at ``max_tokens`` and stays in ``[0, max_tokens]``.
    Every failed attempt takes 1 token, every successful one adds
    ``token_ratio``; retries are allowed only while ``token_count >
    max_tokens / 2`` (strictly). Arithmetic is in integer milli-tokens as in
    grpc-java (``(int)(x * 1000)``, threshold ``max_milli / 2`` in integer
    division); ``token_ratio`` keeps 3 decimal places, further digits are
    truncated as gRPC's config parser does. A6 counts as failures only
    attempts that end with a retryable status: all of ``error``, ``timeout``
    and ``rejected`` are (see ``sim.spec.policy.RETRYABLE``). Acquiring a
    retry costs nothing: its own failure, if any, will.
    """

    def __init__(self, max_tokens: float, token_ratio: float):
        _number("max_tokens", max_tokens, 0.0, low_open=True)
        _number("token_ratio", token_ratio, 0.0, low_open=True)
        self.max_milli_tokens = _to_milli("max_tokens", max_tokens)
        self.milli_token_ratio = _to_milli("token_ratio", token_ratio)
        self.threshold_milli_tokens = self.max_milli_tokens // 2
        self.milli_tokens = self.max_milli_tokens

    @property
    def tokens(self) -> float:
        return self.milli_tokens / 1000.0

    def on_attempt_done(self, now_s: float, is_retry: bool, outcome: str) -> None:
        if _check_outcome(outcome) == "cancelled":
            return
        if outcome == "ok":
            refilled = self.milli_tokens + self.milli_token_ratio
            self.milli_tokens = min(self.max_milli_tokens, refilled)
        else:
            self.milli_tokens = max(0, self.milli_tokens - 1000)

    def try_acquire_retry(self, now_s: float, after_timeout: bool) -> bool:
        return self.milli_tokens > self.threshold_milli_tokens


class AwsRetryQuota(RetryBudget):
    """AWS SDK standard retry mode quota (botocore ``RetryQuotaChecker``).

    The quota starts full at ``capacity``. A retry costs ``retry_cost`` (5), or
    ``timeout_cost`` (10) after a connect/read timeout, and is refused when the
    cost exceeds what is left. A logical call that ends successfully gives
    back the cost of its *last* acquisition (botocore overwrites
    ``retry_quota_capacity`` at every acquisition), or ``no_retry_increment``
    (1) if it needed no retry; the quota never exceeds ``capacity``. A call
    that ends in failure gives nothing back. Under total failure the default
    quota therefore allows exactly 500 / 5 = 100 retries.
    """

    def __init__(self, capacity: int = 500, retry_cost: int = 5, timeout_cost: int = 10,
                 no_retry_increment: int = 1):
        self.capacity = _count("capacity", capacity)
        self.retry_cost = _count("retry_cost", retry_cost)
        self.timeout_cost = _count("timeout_cost", timeout_cost)
        self.no_retry_increment = _count("no_retry_increment", no_retry_increment)
        self.available = self.capacity

    def try_acquire_retry(self, now_s: float, after_timeout: bool) -> bool:
        cost = self.timeout_cost if after_timeout else self.retry_cost
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def on_call_done(self, now_s: float, ok: bool, retries: int,
                     last_retry_after_timeout: bool = False) -> None:
        if _count("retries", retries) and ok:
            refund = self.timeout_cost if last_retry_after_timeout else self.retry_cost
        elif ok:
            refund = self.no_retry_increment
        else:
            return
        self.available = min(self.capacity, self.available + refund)


_REQUESTS, _RETRIES = 0, 1


class RetryRatioBudget(RetryBudget):
    """SRE book per-client retry budget: "Each client keeps track of the ratio of
    requests that correspond to retries. A request will only be retried as
    long as this ratio is below 10%."

    ``requests`` counts every attempt (first tries when sent, retries when
    granted) and ``retries`` the granted retries, both over a sliding window
    of ``window_s`` (:class:`~sim.policies.throttle.SlidingWindowCounter`). A
    retry is granted iff ``retries / requests < max_ratio`` before it (an
    empty window has ratio 0). Counting a retry when it is granted, not when
    it is sent, keeps retries waiting in back-off from overdrawing the budget;
    a granted retry that is then abandoned stays counted (conservative).
    The book gives no window length; 120 s matches its throttling history.
    """

    def __init__(self, max_ratio: float = 0.1, window_s: float = 120.0, bucket_s: float = 1.0):
        self.max_ratio = _number("max_ratio", max_ratio, 0.0)
        self._window = SlidingWindowCounter(window_s, bucket_s, series=2)

    def counts(self, now_s: float) -> tuple[int, int]:
        """``(requests, retries)`` in the window ending at ``now_s``."""
        requests, retries = self._window.totals(now_s)
        return int(requests), int(retries)

    def on_attempt_sent(self, now_s: float, is_retry: bool) -> None:
        if not is_retry:
            self._window.add(now_s, _REQUESTS)

    def try_acquire_retry(self, now_s: float, after_timeout: bool) -> bool:
        requests, retries = self.counts(now_s)
        ratio = retries / requests if requests else 0.0
        if ratio >= self.max_ratio:
            return False
        self._window.add(now_s, _REQUESTS)
        self._window.add(now_s, _RETRIES)
        return True


_BUILDERS = {
    "envoy": (EnvoyRetryBudget, {"budget_percent": "budget_percent",
                                 "min_retry_concurrency": "min_retry_concurrency"}),
    "token_bucket": (TokenBucketRetryThrottle, {"max_tokens": "max_tokens",
                                                "token_ratio": "token_ratio"}),
    "aws_quota": (AwsRetryQuota, {"capacity": "capacity", "retry_cost": "retry_cost",
                                  "timeout_cost": "timeout_cost",
                                  "no_retry_increment": "no_retry_increment"}),
    "ratio": (RetryRatioBudget, {"max_ratio": "max_ratio", "window": "window_s"}),
}
_TOKEN_BUCKET_DEFAULTS = {"max_tokens": 10.0, "token_ratio": 0.1}
"""gRFC A6's example values, also :class:`sim.spec.policy.TokenBucketBudgetSpec`'s defaults."""


def make_budget(spec: Mapping[str, object]) -> RetryBudget:
    """Build a budget from a scenario ``retry.budget`` block (keys as in
    :mod:`sim.spec.policy`: ``window`` in seconds for ``ratio``).

    ``scope`` (pod | service) says where the simulator keeps the budget and
    is ignored here; any other key the type does not take is an error.
    """
    kind = spec.get("type")
    if kind not in _BUILDERS:
        raise ValueError(f"budget type must be one of {tuple(_BUILDERS)}, got {kind!r}")
    cls, keys = _BUILDERS[kind]
    unknown = set(spec) - set(keys) - {"type", "scope"}
    if unknown:
        raise ValueError(f"budget type {kind!r} does not take {sorted(unknown)}")
    kwargs = dict(_TOKEN_BUCKET_DEFAULTS) if kind == "token_bucket" else {}
    kwargs.update({keys[key]: value for key, value in spec.items() if key in keys})
    return cls(**kwargs)
