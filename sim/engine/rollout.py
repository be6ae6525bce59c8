"""A rolling update, as the Deployment controller performs it
(pkg/controller/deployment/rolling.go).

At ``at`` the pod template changes (a new revision). Each reconcile scales
the new pods up to ``desired + maxSurge`` in total and the old pods down
while at least ``desired - maxUnavailable`` pods stay available (Ready),
removing unhealthy old pods first, until every pod is new. The HPA keeps
scaling meanwhile: its desired count is the one the rollout converges to.
"""
from __future__ import annotations

from ..policies.replicaset import RSCounts, new_rs_scale_up_target, old_rs_scale_down
from ..status import NO_POD, ROLLOUT_FINISHED, ROLLOUT_STARTED


class Rollout:
    """One rolling update of one service's pods."""

    def __init__(self, replicaset, spec, clock, events):
        self.replicaset = replicaset
        self.spec = spec
        self.clock = clock
        self.events = events
        self._pending = False
        self.revision = None

    def begin(self, _unused=None) -> None:
        rs = self.replicaset
        if rs.rollout is not None:
            rs.rollout.finish("superseded")
        rs.revision += 1
        self.revision = rs.revision
        rs.rollout = self
        self._event(ROLLOUT_STARTED, f"revision {self.revision} maxSurge={self.spec.maxSurge} "
                                       f"maxUnavailable={self.spec.maxUnavailable}")
        self.reconcile()

    def poke(self) -> None:
        """Something changed (a pod became Ready or went away): reconcile soon."""
        if not self._pending:
            self._pending = True
            self.clock.call_in(0.0, self._reconcile_now, None)

    def _reconcile_now(self, _unused) -> None:
        self._pending = False
        if self.replicaset.rollout is self:
            self.reconcile()

    def reconcile(self) -> None:
        rs = self.replicaset
        desired = rs.service.desired_replicas
        live = rs.live()
        new = [p for p in live if p.revision == self.revision]
        old = [p for p in live if p.revision != self.revision]
        surge, unavailable = self.spec.maxSurge, self.spec.maxUnavailable
        target = new_rs_scale_up_target(desired, surge, len(new) + len(old), len(new)) \
            if len(new) < desired else desired
        for _ in range(max(0, target - len(new))):
            rs.create(self.revision)
        if len(new) > desired:
            rs.scale_down(new, len(new) - desired, "rollout scale down")
            new = [p for p in rs.live() if p.revision == self.revision]
        if old:
            new_ready = sum(1 for p in new if p.ready)
            plan = old_rs_scale_down(desired, surge, unavailable,
                                     RSCounts(len(new), new_ready),
                                     [RSCounts(len(old), sum(1 for p in old if p.ready))])
            removed = len(old) - plan.old_replicas[0]
            if removed > 0:
                rs.scale_down(old, removed, f"rollout to revision {self.revision}")
        old_left = [p for p in rs.live() if p.revision != self.revision]
        new_ready = sum(1 for p in rs.live() if p.revision == self.revision and p.ready)
        if not old_left and new_ready >= desired:
            self.finish("complete")

    def finish(self, how: str) -> None:
        if self.replicaset.rollout is self:
            self.replicaset.rollout = None
            self._event(ROLLOUT_FINISHED, f"revision {self.revision} {how}")

    def _event(self, kind: str, detail: str) -> None:
        self.events.append(self.clock.now, self.replicaset.service.index, NO_POD, kind, detail)
