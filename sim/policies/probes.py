"""Kubelet prober rules and the container restart back-off, as pure Python.

Everything here is clock-agnostic: callers pass ``now_s``/``*_s`` times and
observations; nothing reads a clock, draws randomness or does I/O.

Sources imitated (kubernetes/kubernetes, current master):

* ``pkg/kubelet/prober/worker.go`` -- ``newWorker`` (initial values),
  ``(*worker).run`` (ticker, start-up jitter), ``(*worker).doProbe``
  (``resultRun`` thresholds, ``onHold``, startup gating, initial delay).
  With the alpha ``MutableContainerProbes`` gate (off by default, 1.38) the
  kubelet uses ``container_bound_worker.go`` instead; see the notes on
  :class:`ProbeResultTracker` for the one behavioural difference.
* ``pkg/kubelet/prober/prober_manager.go`` -- ``UpdatePodStatus`` (manual
  readiness trigger once a container has started).
* ``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Probe`` and
  ``pkg/apis/core/validation`` (probe validation).
* ``pkg/kubelet/kuberuntime/kuberuntime_manager.go`` ``doBackOff``,
  ``pkg/kubelet/kubelet.go`` (``NewMainKubelet`` back-off set-up with
  ``HasExpiredFunc`` = 600 s, ``HandlePodCleanups`` -> ``backOff.GC()``) and
  ``staging/src/k8s.io/client-go/util/flowcontrol/backoff.go``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping

ProbeKind = Literal["readiness", "liveness", "startup"]
PROBE_KINDS: tuple[str, ...] = ("readiness", "liveness", "startup")
_EPS_S = 1e-9  # float slack when comparing simulated times

# SetDefaults_Probe: a zero/unset field takes these values.
DEFAULT_PERIOD_SECONDS = 10
DEFAULT_TIMEOUT_SECONDS = 1
DEFAULT_SUCCESS_THRESHOLD = 1
DEFAULT_FAILURE_THRESHOLD = 3

# Keys of a v1.Probe that describe the handler; accepted and ignored here.
_HANDLER_KEYS = frozenset({"exec", "httpGet", "tcpSocket", "grpc"})
_K8S_TO_FIELD = {
    "initialDelaySeconds": "initial_delay_seconds",
    "periodSeconds": "period_seconds",
    "timeoutSeconds": "timeout_seconds",
    "successThreshold": "success_threshold",
    "failureThreshold": "failure_threshold",
    "terminationGracePeriodSeconds": "termination_grace_period_seconds",
}
# Published initial value per kind (worker.go newWorker); None = results.Unknown.
_INITIAL_RESULT: dict[str, bool | None] = {
    "readiness": False,
    "liveness": True,
    "startup": None,
}


def _check_kind(kind: str) -> None:
    if kind not in PROBE_KINDS:
        raise ValueError(f"kind must be one of {PROBE_KINDS}, got {kind!r}")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class ProbeConfig:
    """A v1.Probe's timing fields (snake_case), after API defaulting.

    Invariants (checked on construction): ``initial_delay_seconds >= 0``;
    period, timeout and both thresholds ``>= 1`` (the API documents "Minimum
    value is 1" -- zero is replaced by the default before validation);
    ``termination_grace_period_seconds`` is ``None`` or ``> 0``.
    Kind-specific rules live in :meth:`validate_for`.
    """

    initial_delay_seconds: int = 0
    period_seconds: int = DEFAULT_PERIOD_SECONDS
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    success_threshold: int = DEFAULT_SUCCESS_THRESHOLD
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    termination_grace_period_seconds: int | None = None

    def __post_init__(self) -> None:
        _check_int("initialDelaySeconds", self.initial_delay_seconds, 0)
        _check_int("periodSeconds", self.period_seconds, 1)
        _check_int("timeoutSeconds", self.timeout_seconds, 1)
        _check_int("successThreshold", self.success_threshold, 1)
        _check_int("failureThreshold", self.failure_threshold, 1)
        if self.termination_grace_period_seconds is not None:
            _check_int(
                "terminationGracePeriodSeconds",
                self.termination_grace_period_seconds,
                1,
            )

    @classmethod
    def from_k8s(cls, spec: Mapping[str, Any], kind: str = "readiness") -> ProbeConfig:
        """Build from the camelCase fields of a v1.Probe, verbatim.

        Missing fields, and fields set to 0 except ``initialDelaySeconds``,
        take the ``SetDefaults_Probe`` defaults (10 s period, 1 s timeout,
        thresholds 1/3), exactly as the API server stores them. Handler keys
        (``exec``, ``httpGet``, ``tcpSocket``, ``grpc``) are ignored; any
        other key raises ``ValueError`` naming it. Negative values raise
        ``ValueError`` naming the field. The result is validated for ``kind``.
        """
        kwargs: dict[str, Any] = {}
        for key, value in spec.items():
            if key in _HANDLER_KEYS:
                continue
            if key not in _K8S_TO_FIELD:
                raise ValueError(f"unknown probe field {key!r}")
            if value is None:
                continue
            _check_int(key, value, 0)
            if value == 0 and key not in ("initialDelaySeconds",
                                          "terminationGracePeriodSeconds"):
                continue  # SetDefaults_Probe replaces 0 with the default
            kwargs[_K8S_TO_FIELD[key]] = value
        config = cls(**kwargs)
        config.validate_for(kind)
        return config

    def validate_for(self, kind: str) -> None:
        """Kind-specific validation (pkg/apis/core/validation).

        Liveness and startup probes require ``successThreshold == 1``;
        readiness probes must not set ``terminationGracePeriodSeconds``.
        """
        _check_kind(kind)
        if kind in ("liveness", "startup") and self.success_threshold != 1:
            raise ValueError(
                f"successThreshold must be 1 for {kind} probes, "
                f"got {self.success_threshold}"
            )
        if kind == "readiness" and self.termination_grace_period_seconds is not None:
            raise ValueError(
                "terminationGracePeriodSeconds must not be set for readiness probes"
            )

    def probe_succeeds(self, healthy: bool, response_time_s: float) -> bool:
        """One probe's outcome: healthy and answered within ``timeoutSeconds``.

        (pkg/kubelet/prober/prober.go ``runProbe``: a handler that does not
        answer within the timeout is a Failure.)
        """
        return bool(healthy) and response_time_s <= self.timeout_seconds


class ProbeResultTracker:
    """The published result of one probe worker (legacy ``worker.go``).

    ``published`` is what the results manager holds: ``True`` (Success),
    ``False`` (Failure) or ``None`` (Unknown, startup only). Semantics:

    * initial value (``newWorker``): readiness Failure, liveness Success,
      startup Unknown; it is (re)published whenever a new container ID is seen.
    * ``observe(ok)``: ``resultRun`` counts identical results in a row; the
      result is published once ``resultRun`` reaches ``successThreshold``
      (for Success) or ``failureThreshold`` (for Failure); below it the
      published value is unchanged.
    * after publishing a liveness Failure, or any startup result, the worker
      goes *on hold* (ignores observations) and resets ``resultRun`` to 0
      until the container restarts.
    * ``on_container_restart()`` (new container ID): republish the initial
      value and lift the hold. ``resultRun``/``lastResult`` are **not**
      reset -- in the legacy worker they survive a restart that was not
      preceded by a hold (e.g. a crash), so a readiness probe with
      ``successThreshold=3`` that had 2 successes before a crash needs just
      1 on the new container. (With the alpha ``MutableContainerProbes``
      gate the kubelet instead starts a fresh ``containerBoundWorker`` per
      container, which resets the run; not modelled.)
    * startup gating (``doProbe``): if ``container_started`` is passed,
      startup observations are ignored once started and liveness/readiness
      observations are ignored until started.
    """

    def __init__(self, kind: str, config: ProbeConfig) -> None:
        _check_kind(kind)
        config.validate_for(kind)
        self.kind = kind
        self.config = config
        self._published: bool | None = _INITIAL_RESULT[kind]
        self._last: bool | None = None
        self._run = 0
        self._on_hold = False
        self._stopped = False

    @property
    def published(self) -> bool | None:
        """Current published result (None = Unknown)."""
        return self._published

    @property
    def result_run(self) -> int:
        """How many identical results in a row (worker.go ``resultRun``)."""
        return self._run

    @property
    def on_hold(self) -> bool:
        """True while observations are ignored until the next container."""
        return self._on_hold

    def observe(self, ok: bool, container_started: bool | None = None) -> bool | None:
        """Feed one probe outcome; return the published result afterwards."""
        if self._stopped or self._on_hold or not self._gate_open(container_started):
            return self._published
        self._count(bool(ok))
        threshold = (
            self.config.success_threshold if ok else self.config.failure_threshold
        )
        if self._run < threshold:
            return self._published
        self._published = bool(ok)
        if (self.kind == "liveness" and not ok) or self.kind == "startup":
            self._on_hold = True
            self._run = 0
        return self._published

    def on_container_restart(self) -> None:
        """A new container ID: republish the initial value, lift the hold."""
        self._published = _INITIAL_RESULT[self.kind]
        self._on_hold = False
        self._stopped = False

    def on_container_stopped(self) -> None:
        """Container not running: doProbe publishes Failure (unless on hold)."""
        if not self._on_hold and not self._stopped:
            self._published = False

    def on_pod_deletion(self) -> None:
        """Graceful pod shutdown: liveness/startup publish Success and stop."""
        if self.kind in ("liveness", "startup"):
            self._published = True
            self._stopped = True

    def _gate_open(self, container_started: bool | None) -> bool:
        if container_started is None:
            return True
        return (not container_started) if self.kind == "startup" else container_started

    def _count(self, ok: bool) -> None:
        if self._last == ok:
            self._run += 1
        else:
            self._last = ok
            self._run = 1


def _first_tick_at_or_after(origin_s: float, period_s: float, earliest_s: float) -> float:
    """Smallest ``origin + k*period`` (k >= 0) that is >= ``earliest_s``."""
    if earliest_s <= origin_s:
        return origin_s
    k = math.ceil((earliest_s - origin_s) / period_s - _EPS_S)
    return origin_s + k * period_s


@dataclass(frozen=True)
class ProbeSchedule:
    """When the first probe of each kind runs (legacy ``worker.run``).

    Model: a worker's ticker fires at ``worker_start_s + jitter_s +
    k*periodSeconds`` (k >= 0; the first ``doProbe`` runs immediately, then
    every tick). A tick probes only if (a) ``int(t - container_start_s) >=
    initialDelaySeconds`` and (b) the startup gate allows it: startup probes
    run only before the container is Started, liveness/readiness only after.
    Without a startup probe the container counts as Started when it starts.

    Readiness additionally gets a manual trigger from
    ``prober_manager.UpdatePodStatus`` when a started container is not ready:
    we model that as a probe exactly when the container becomes Started
    (``started_s``, or the container start without a startup probe) if the
    initial delay has elapsed by then and the worker is past its jitter
    sleep (status-sync latency is the simulator's business).

    Jitter: ``worker.run`` sleeps ``rand.Float64() * period`` before the
    first probe *only if the kubelet started less than one period ago*. No
    jitter by default; to model a kubelet restart pass ``jitter_s`` in
    ``[0, periodSeconds)`` drawn from the caller's own RNG.
    ``worker_start_s`` defaults to ``container_start_s`` (real workers start
    at pod admission, before the image pull -- pass it to model that).
    Subsequent probes follow every ``periodSeconds`` (:meth:`next_probe_s`).
    """

    startup: ProbeConfig | None = None
    liveness: ProbeConfig | None = None
    readiness: ProbeConfig | None = None

    def __post_init__(self) -> None:
        for kind in PROBE_KINDS:
            config = self.config_for(kind)
            if config is not None:
                config.validate_for(kind)

    def config_for(self, kind: str) -> ProbeConfig | None:
        """The configured probe of ``kind`` (None if absent)."""
        _check_kind(kind)
        return getattr(self, kind)

    def first_probe_s(
        self,
        kind: str,
        container_start_s: float,
        *,
        started_s: float | None = None,
        worker_start_s: float | None = None,
        jitter_s: float = 0.0,
    ) -> float | None:
        """Time of the first probe of ``kind``; None if it cannot be known.

        ``started_s`` is when the startup probe published Success (ignored
        without a startup probe). Returns None when ``kind`` is not
        configured, or for liveness/readiness behind a startup probe whose
        success time is not given.
        """
        config = self.config_for(kind)
        if config is None:
            return None
        gate_s = self._gate_s(kind, container_start_s, started_s)
        if gate_s is None:
            return None
        period = float(config.period_seconds)
        if not 0.0 <= jitter_s < period:
            raise ValueError(f"jitter_s must be in [0, periodSeconds), got {jitter_s}")
        origin = (container_start_s if worker_start_s is None else worker_start_s) + jitter_s
        due_s = container_start_s + config.initial_delay_seconds
        if kind == "readiness" and gate_s >= due_s:
            return max(gate_s, origin)  # UpdatePodStatus manual trigger once Started
        return _first_tick_at_or_after(origin, period, max(gate_s, due_s))

    def next_probe_s(self, kind: str, last_probe_s: float) -> float:
        """Next periodic probe after one at ``last_probe_s``."""
        config = self.config_for(kind)
        if config is None:
            raise ValueError(f"no {kind} probe configured")
        return last_probe_s + config.period_seconds

    def _gate_s(self, kind: str, start_s: float, started_s: float | None) -> float | None:
        if kind == "startup" or self.startup is None:
            return start_s
        return started_s


class CrashLoopBackOff:
    """Kubelet container-restart back-off for one container.

    Mirrors ``flowcontrol.Backoff`` as the kubelet configures it: initial
    10 s, doubling, capped at 300 s, no jitter, and ``HasExpiredFunc``
    "finished - lastUpdate > 600 s" (kubelet.go; fixed at 600 s whatever the
    cap). ``lastUpdate`` is stamped by ``Next`` when the kubelet restarts the
    container, so the reset rule reads: *if the container ran for more than
    10 minutes after its last back-off restart, its next crash restarts it
    immediately and the back-off starts over at 10 s*.

    ``doBackOff`` flow for an exited container that finished at ``F``:

    * no entry (first crash ever, or forgotten): restart immediately, then
      ``Next`` creates an entry of ``initial_s``. Hence delays per crash
      are 0, 10, 20, 40, 80, 160, 300, 300, ...
    * entry expired (``F - lastUpdate > reset_after_s``): same as no entry.
    * otherwise restart once ``now - F >= backoff``; ``Next`` doubles it.
    * ``HandlePodCleanups`` calls ``backOff.GC()`` every housekeeping pass,
      dropping entries with ``now - lastUpdate > reset_after_s``; a container
      still waiting then restarts early and starts over at ``initial_s``.

    The real restart happens at the next pod sync after the window closes;
    that sync latency is not modelled.
    """

    def __init__(
        self, initial_s: float = 10.0, max_s: float = 300.0, reset_after_s: float = 600.0
    ) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError("need 0 < initial_s <= max_s")
        if reset_after_s <= 0:
            raise ValueError("reset_after_s must be > 0")
        self.initial_s = float(initial_s)
        self.max_s = float(max_s)
        self.reset_after_s = float(reset_after_s)
        self._backoff_s: float | None = None
        self._last_update_s = 0.0

    @property
    def backoff_s(self) -> float | None:
        """Current entry's window (``Backoff.Get``); None if no entry."""
        return self._backoff_s

    def delay_s(self, finished_s: float) -> float:
        """Seconds after ``finished_s`` before the kubelet restarts (pure)."""
        if self._backoff_s is None or self._expired(finished_s):
            return 0.0
        gc_s = self._last_update_s + self.reset_after_s
        return min(self._backoff_s, gc_s - finished_s)

    def on_container_exit(self, finished_s: float) -> float:
        """Container finished at ``finished_s``: return its restart time.

        Records the restart (``Backoff.Next``) at that time.
        """
        restart_s = finished_s + self.delay_s(finished_s)
        self.record_restart(restart_s, finished_s)
        return restart_s

    def record_restart(self, restart_s: float, finished_s: float) -> None:
        """``Backoff.Next(key, finished)`` called when restarting at ``restart_s``.

        A restart at or after ``lastUpdate + reset_after_s`` is one that
        ``GC`` released, so the entry starts over at ``initial_s``.
        """
        garbage_collected = restart_s - self._last_update_s >= self.reset_after_s - _EPS_S
        if self._backoff_s is None or garbage_collected or self._expired(finished_s):
            self._backoff_s = self.initial_s
        else:
            self._backoff_s = min(2.0 * self._backoff_s, self.max_s)
        self._last_update_s = restart_s

    def gc(self, now_s: float) -> None:
        """``Backoff.GC``: forget the entry if not updated for ``reset_after_s``."""
        if self._backoff_s is not None and now_s - self._last_update_s > self.reset_after_s:
            self._backoff_s = None

    def reset(self) -> None:
        """``Backoff.Reset``: forget all back-off state."""
        self._backoff_s = None

    def _expired(self, event_s: float) -> bool:
        return event_s - self._last_update_s > self.reset_after_s
