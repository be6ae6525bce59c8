"""The HPA's behavior normalizer: a replica proposal -> the count to set.

Pure arithmetic on the controller's per-HPA state, as Kubernetes computes it
(``kubernetes/pkg/controller/podautoscaler/horizontal.go``):
``reconcileAutoscaler`` from the point where the proposal is known,
``recordInitialRecommendation``, ``stabilizeRecommendation``,
``normalizeDesiredReplicas``, ``convertDesiredReplicasWithRules`` (the legacy
path, an HPA without ``behavior``), ``normalizeDesiredReplicasWithBehaviors``,
``stabilizeRecommendationWithBehaviors``,
``convertDesiredReplicasWithBehaviorRate``,
``calculateScaleUpLimitWithScalingRules``,
``calculateScaleDownLimitWithBehaviors``, ``getReplicasChangePerPeriod``,
``storeScaleEvent``, ``markScaleEventsOutdated``,
``maybeInitScaleDownStabilizationWindow`` and ``tolerancesForHpa``.

The behavior arrives validated and defaulted (:class:`sim.spec.hpa.HPABehavior`,
Kubernetes' ``validateBehavior`` and ``GenerateHPAScale{Up,Down}Rules``);
nothing here checks it again. Time comparisons keep Go's strictness:
``t.After(x)`` is ``t > x`` and ``t.Before(x)`` is ``t < x``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

from ...spec.hpa import (DOWNSCALE_STABILIZATION_S, TOLERANCE, HPABehavior, HPAScalingPolicy,
                         HPAScalingRules)
from .samples import Tolerances

# horizontal.go
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0


# --- rate limits (horizontal.go) ------------------------------------------------
@dataclass
class Recommendation:
    """``timestampedRecommendation``: an unstabilized recommendation."""

    replicas: int
    timestamp_s: float


@dataclass
class ScaleEvent:
    """``timestampedScaleEvent``: a rescale by ``replica_change`` (>= 0) pods."""

    replica_change: int
    timestamp_s: float
    outdated: bool = False


def calculate_scale_up_limit(current_replicas: int) -> int:
    """Legacy ``calculateScaleUpLimit``: ``max(2 * current, 4)``."""
    return int(max(SCALE_UP_LIMIT_FACTOR * current_replicas, SCALE_UP_LIMIT_MINIMUM))


def convert_desired_replicas_with_rules(current_replicas: int, desired_replicas: int,
                                        min_replicas: int, max_replicas: int) -> tuple:
    """``convertDesiredReplicasWithRules`` (legacy path): ``(replicas, reason)``.

    Clamp to ``[min, min(max, max(2*current, 4))]``; the reason is
    ``TooFewReplicas``, ``ScaleUpLimit``, ``TooManyReplicas`` or
    ``DesiredWithinRange``.
    """
    scale_up_limit = calculate_scale_up_limit(current_replicas)
    if max_replicas > scale_up_limit:
        maximum, reason = scale_up_limit, "ScaleUpLimit"
    else:
        maximum, reason = max_replicas, "TooManyReplicas"
    if desired_replicas < min_replicas:
        return min_replicas, "TooFewReplicas"
    if desired_replicas > maximum:
        return maximum, reason
    return desired_replicas, "DesiredWithinRange"


def get_replicas_change_per_period(period_s: float, events: Iterable[ScaleEvent],
                                   now_s: float) -> int:
    """``getReplicasChangePerPeriod``: replicas changed by events strictly after
    ``now - period``."""
    cutoff = now_s - period_s
    return sum(e.replica_change for e in events if e.timestamp_s > cutoff)


def _period_start(policy: HPAScalingPolicy, current: int, up_events, down_events,
                  now_s: float) -> int:
    added = get_replicas_change_per_period(policy.periodSeconds, up_events, now_s)
    deleted = get_replicas_change_per_period(policy.periodSeconds, down_events, now_s)
    return current - added + deleted


def calculate_scale_up_limit_with_scaling_rules(
    current_replicas: int, scale_up_events: Iterable[ScaleEvent],
    scale_down_events: Iterable[ScaleEvent], rules: HPAScalingRules, now_s: float,
) -> int:
    """``calculateScaleUpLimitWithScalingRules``.

    Per policy, ``start = current - scale-ups + scale-downs`` in its period;
    Pods allows ``start + value``, Percent ``ceil(start * (1 + value/100))``.
    ``selectPolicy`` Max takes the largest, Min the smallest, Disabled returns
    ``current``.
    """
    if rules.selectPolicy == "Disabled":
        return current_replicas
    up_events, down_events = list(scale_up_events), list(scale_down_events)
    proposals = []
    for policy in rules.policies:
        start = _period_start(policy, current_replicas, up_events, down_events, now_s)
        if policy.type == "Pods":
            proposals.append(start + policy.value)
        else:
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    return min(proposals) if rules.selectPolicy == "Min" else max(proposals)


def calculate_scale_down_limit_with_behaviors(
    current_replicas: int, scale_up_events: Iterable[ScaleEvent],
    scale_down_events: Iterable[ScaleEvent], rules: HPAScalingRules, now_s: float,
) -> int:
    """``calculateScaleDownLimitWithBehaviors``.

    Per policy, Pods allows ``start - value``, Percent
    ``int(start * (1 - value/100))`` (truncated toward zero). ``selectPolicy``
    Max (the largest change) takes the smallest limit, Min the largest,
    Disabled returns ``current``.
    """
    if rules.selectPolicy == "Disabled":
        return current_replicas
    up_events, down_events = list(scale_up_events), list(scale_down_events)
    proposals = []
    for policy in rules.policies:
        start = _period_start(policy, current_replicas, up_events, down_events, now_s)
        if policy.type == "Pods":
            proposals.append(start - policy.value)
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    return max(proposals) if rules.selectPolicy == "Min" else min(proposals)


# --- the per-HPA normalizer ---------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One sync's outcome.

    ``desired`` is the metrics proposal, ``stabilized`` the value after the
    stabilization window, ``replicas`` the final count. ``reason`` is the
    limiting reason: the ``ScalingLimited`` condition reason when the rate or
    bounds changed the count (``ScaleUpLimit``, ``ScaleDownLimit``,
    ``TooManyReplicas``, ``TooFewReplicas``), else the stabilization reason
    when stabilization changed it (``ScaleUpStabilized``,
    ``ScaleDownStabilized``), else ``DesiredWithinRange``; and
    ``ScalingDisabled`` / ``TooManyReplicas`` / ``TooFewReplicas`` for the
    three cases ``reconcileAutoscaler`` settles before normalizing (current 0,
    above max, below min). ``able_to_scale_reason`` and
    ``scaling_limited_reason`` are the two condition reasons Kubernetes sets
    (``None`` where it sets none).
    """

    replicas: int
    current: int
    desired: int
    stabilized: int
    reason: str
    able_to_scale_reason: Optional[str]
    scaling_limited_reason: Optional[str]

    @property
    def rescaled(self) -> bool:
        return self.replicas != self.current

    @property
    def scaling_limited(self) -> bool:
        return self.replicas != self.stabilized


def _summary_reason(desired: int, stabilized: int, able: str, limited: str) -> str:
    if limited != "DesiredWithinRange":
        return limited
    if stabilized != desired:
        return able
    return "DesiredWithinRange"


class Normalizer:
    """Turns each sync's metrics proposal into a replica count, as the HPA
    controller does for one HPA (horizontal.go ``reconcileAutoscaler`` from the
    point where the proposal is known).

    ``behavior=None`` is the legacy path (``normalizeDesiredReplicas``):
    stabilize over ``downscale_stabilization_s`` (max of recent
    recommendations), then clamp to ``[min, min(max, max(2*current, 4))]``. An
    :class:`~sim.spec.hpa.HPABehavior` (even the all-default one) is the
    autoscaling/v2 path (``normalizeDesiredReplicasWithBehaviors``: stabilize
    with both windows, then apply the scale-up/scale-down policies to the
    scale events); a scale-down window left unset takes
    ``downscale_stabilization_s`` in whole seconds
    (``maybeInitScaleDownStabilizationWindow``).

    The arguments come validated from the scenario (``0 <= min <= max``,
    ``max >= 1``, a window >= 0); replica counts passed to :meth:`decide`
    are the controller's own (ints >= 0).

    State, kept as the controller keeps it per HPA: ``recommendations``
    (``None`` until the first sync, when it is seeded with the current count as
    ``recordInitialRecommendation`` does -- so a scale-down right after the
    start is held for the stabilization window), ``scale_up_events`` and
    ``scale_down_events``. Scale events are stored only on the behavior path
    and only when the count actually changes: :meth:`decide` stores them itself
    when it returns a new count (``record_scale_events=True``), since the
    simulator applies every decision; pass ``False`` and call
    :meth:`record_scale` after a rescale that really happened instead.
    """

    def __init__(self, min_replicas: int, max_replicas: int,
                 behavior: Optional[HPABehavior] = None,
                 downscale_stabilization_s: float = DOWNSCALE_STABILIZATION_S, *,
                 record_scale_events: bool = True) -> None:
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.downscale_stabilization_s = float(downscale_stabilization_s)
        self.behavior = behavior
        window = None if behavior is None else behavior.scaleDown.stabilizationWindowSeconds
        # the behavior path's scale-down stabilization window, whole seconds
        self.scale_down_window_s = int(downscale_stabilization_s) if window is None else window
        self.record_scale_events = record_scale_events
        self.recommendations: Optional[list] = None
        self.scale_up_events: list = []
        self.scale_down_events: list = []
        self.last_decision: Optional[Decision] = None

    # -- public entry points --
    def recommend(self, now_s: float, current_replicas: int, desired_replicas: int) -> int:
        """The replica count the controller sets for this sync."""
        return self.decide(now_s, current_replicas, desired_replicas).replicas

    def recommend_with_reason(self, now_s: float, current_replicas: int,
                              desired_replicas: int) -> tuple:
        """``(replicas, limiting reason)``; see :class:`Decision`."""
        decision = self.decide(now_s, current_replicas, desired_replicas)
        return decision.replicas, decision.reason

    @property
    def last_reason(self) -> Optional[str]:
        return None if self.last_decision is None else self.last_decision.reason

    def decide(self, now_s: float, current_replicas: int, desired_replicas: int) -> Decision:
        """One sync: seed history, settle out-of-range counts, else normalize."""
        if self.recommendations is None:
            self.recommendations = [Recommendation(current_replicas, now_s)]
        decision = self._settled(current_replicas, desired_replicas)
        if decision is None:
            decision = self._normalized(now_s, current_replicas, desired_replicas)
        if self.record_scale_events and decision.rescaled:
            self.record_scale(now_s, current_replicas, decision.replicas)
        self.last_decision = decision
        return decision

    def record_scale(self, now_s: float, old_replicas: int, new_replicas: int) -> None:
        """``storeScaleEvent``: remember a rescale (behavior path only).

        Events older than the direction's longest policy period are marked
        outdated (``markScaleEventsOutdated``) and the last outdated one is
        reused for the new event. ``old == new`` stores nothing.
        """
        if self.behavior is None or old_replicas == new_replicas:
            return
        if new_replicas > old_replicas:
            rules, events = self.behavior.scaleUp, self.scale_up_events
        else:
            rules, events = self.behavior.scaleDown, self.scale_down_events
        longest = max([0] + [p.periodSeconds for p in rules.policies])
        reuse = None
        for index, event in enumerate(events):
            if event.timestamp_s < now_s - longest:
                event.outdated = True
            if event.outdated:
                reuse = index
        new_event = ScaleEvent(abs(new_replicas - old_replicas), now_s)
        if reuse is None:
            events.append(new_event)
        else:
            events[reuse] = new_event

    def tolerances(self, default: float = TOLERANCE) -> Tolerances:
        """``tolerancesForHpa``: per-direction tolerances from ``behavior``
        (``scaleUp.tolerance``/``scaleDown.tolerance``), else ``default``."""
        if self.behavior is None:
            return Tolerances(default, default)
        down = self.behavior.scaleDown.tolerance
        up = self.behavior.scaleUp.tolerance
        return Tolerances(default if down is None else down, default if up is None else up)

    # -- the steps, public so that Kubernetes' unit tests can be ported --
    def stabilize_recommendation(self, now_s: float, desired_replicas: int) -> int:
        """``stabilizeRecommendation`` (legacy): the max of the recommendations
        not older than the downscale window and ``desired``; records ``desired``,
        reusing the last expired slot."""
        recommendations = self._history()
        cutoff = now_s - self.downscale_stabilization_s
        best, reuse = desired_replicas, None
        for index, rec in enumerate(recommendations):
            if rec.timestamp_s < cutoff:
                reuse = index
            elif rec.replicas > best:
                best = rec.replicas
        self._store(reuse, Recommendation(desired_replicas, now_s))
        return best

    def stabilize_recommendation_with_behaviors(self, now_s: float, current_replicas: int,
                                                desired_replicas: int) -> tuple:
        """``stabilizeRecommendationWithBehaviors``: ``(replicas, reason)``.

        ``up`` = min of ``desired`` and the recommendations in the scale-up
        window, ``down`` = max over the scale-down window; the result is
        ``current`` raised to ``up`` then lowered to ``down``. Records
        ``desired``, reusing the last slot expired for both windows.
        """
        recommendations = self._history()
        up_cutoff = now_s - self.behavior.scaleUp.stabilizationWindowSeconds
        down_cutoff = now_s - self.scale_down_window_s
        up, down, reuse = desired_replicas, desired_replicas, None
        for index, rec in enumerate(recommendations):
            if rec.timestamp_s > up_cutoff:
                up = min(rec.replicas, up)
            if rec.timestamp_s > down_cutoff:
                down = max(rec.replicas, down)
            if rec.timestamp_s < up_cutoff and rec.timestamp_s < down_cutoff:
                reuse = index
        self._store(reuse, Recommendation(desired_replicas, now_s))
        stabilized = min(max(current_replicas, up), down)
        up = desired_replicas >= current_replicas
        reason = "ScaleUpStabilized" if up else "ScaleDownStabilized"
        return stabilized, reason

    def convert_desired_replicas_with_behavior_rate(self, now_s: float, current_replicas: int,
                                                    desired_replicas: int) -> tuple:
        """``convertDesiredReplicasWithBehaviorRate``: ``(replicas, reason)``.

        A scale-up is capped by ``max_replicas`` (``TooManyReplicas``) or the
        scale-up policy limit, never below current (``ScaleUpLimit``); a
        scale-down is floored by ``min_replicas`` (``TooFewReplicas``) or the
        scale-down limit, never above current (``ScaleDownLimit``).
        """
        args = (self.scale_up_events, self.scale_down_events)
        if desired_replicas > current_replicas:
            limit = calculate_scale_up_limit_with_scaling_rules(
                current_replicas, *args, self.behavior.scaleUp, now_s)
            limit = max(limit, current_replicas)
            if self.max_replicas > limit:
                allowed, reason = limit, "ScaleUpLimit"
            else:
                allowed, reason = self.max_replicas, "TooManyReplicas"
            if desired_replicas > allowed:
                return allowed, reason
        elif desired_replicas < current_replicas:
            limit = calculate_scale_down_limit_with_behaviors(
                current_replicas, *args, self.behavior.scaleDown, now_s)
            limit = min(limit, current_replicas)
            if self.min_replicas < limit:
                allowed, reason = limit, "ScaleDownLimit"
            else:
                allowed, reason = self.min_replicas, "TooFewReplicas"
            if desired_replicas < allowed:
                return allowed, reason
        return desired_replicas, "DesiredWithinRange"

    # -- internals --
    def _history(self) -> list:
        if self.recommendations is None:
            self.recommendations = []
        return self.recommendations

    def _store(self, reuse: Optional[int], rec: Recommendation) -> None:
        if reuse is None:
            self.recommendations.append(rec)
        else:
            self.recommendations[reuse] = rec

    def _settled(self, current: int, desired: int) -> Optional[Decision]:
        """The branches of ``reconcileAutoscaler`` that skip normalization."""
        if current == 0 and self.min_replicas != 0:
            return Decision(0, current, desired, desired, "ScalingDisabled", None, None)
        if current > self.max_replicas:
            target, reason = self.max_replicas, "TooManyReplicas"
        elif current < self.min_replicas:
            target, reason = self.min_replicas, "TooFewReplicas"
        else:
            return None
        return Decision(target, current, desired, desired, reason, None, None)

    def _normalized(self, now_s: float, current: int, desired: int) -> Decision:
        if self.behavior is None:
            stabilized = self.stabilize_recommendation(now_s, desired)
            able = "ScaleDownStabilized" if stabilized != desired else "ReadyForNewScale"
            replicas, limited = convert_desired_replicas_with_rules(
                current, stabilized, self.min_replicas, self.max_replicas)
        else:
            stabilized, able = self.stabilize_recommendation_with_behaviors(now_s, current, desired)
            able = able if stabilized != desired else "ReadyForNewScale"
            replicas, limited = self.convert_desired_replicas_with_behavior_rate(
                now_s, current, stabilized)
        reason = _summary_reason(desired, stabilized, able, limited)
        return Decision(replicas, current, desired, stabilized, reason, able, limited)
