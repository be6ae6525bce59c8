"""An external dependency: a third party the services call (a payment
provider, a SaaS API) that is not our pods.

It has a response time, a baseline error rate and maybe limits; it has no
pods, so it never counts in pod-seconds or cost, and nothing we do scales it.
"""
from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field

from .base import TIMEOUT_WARN_S, BareSecondsAbove, Probability, Spec
from .distributions import Dist
from .policy import CodeFamily
from .service import RateLimitSpec


class ExternalSpec(Spec):
    """A dependency outside the cluster, called like a service (``to: NAME``).

    ``latency``: its response time as the caller sees it, the whole round
    trip (the scenario's ``network.latency`` does not apply to calls to it; a
    call's own ``latency`` still does, on each leg). Then it fails with
    probability ``error_rate`` (status ``error``, reason ``app_error``, code
    ``error_status``). With ``concurrency``, a call finding that many in
    progress is refused at once; with ``rate_limit``, a call finding no token
    is refused at once (status ``rejected``, code ``rejection_status``,
    reason ``concurrency_limit`` or ``rate_limited``). A caller that gives up
    does not stop the provider's work (it still holds its concurrency).
    """

    latency: Annotated[Dist, BareSecondsAbove(TIMEOUT_WARN_S, "external response time")]
    error_rate: Probability = 0.0
    error_status: CodeFamily = "unavailable"
    concurrency: Optional[int] = Field(None, ge=1)
    rate_limit: Optional[RateLimitSpec] = None
    rejection_status: CodeFamily = "resource_exhausted"
