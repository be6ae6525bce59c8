"""Kubernetes objects -> podsim service blocks (pure functions, no I/O).

What is read (the full table is in :data:`MAPPING` and the README):

* ``apps/v1 Deployment``: one service per Deployment, named after it.
  ``spec.replicas`` -> ``replicas``; the serving container's
  ``resources.requests.cpu`` -> ``pod.cpu_request``, ``resources.limits.cpu``
  -> ``pod.cpu_limit``; its readiness/liveness/startup probes -> the
  service's probes verbatim; ``terminationGracePeriodSeconds`` ->
  ``pod.termination_grace``; ``strategy.rollingUpdate`` -> a (commented)
  ``rollouts`` entry; a ``GOMAXPROCS`` env var -> ``pod.gomaxprocs``.
* The serving container: the one named by the pod template's annotation
  ``podsim.io/serving-container`` (else ``kubectl.kubernetes.io/default-container``),
  else the first. Other containers (sidecars) are listed as not modeled.
* ``v1 Service``: its ``selector`` matched against the Deployments'
  pod-template labels (same namespace) picks the traffic's entry service.
* ``autoscaling/v2`` (and ``v2beta2``, ``v1``) ``HorizontalPodAutoscaler``:
  ``scaleTargetRef`` -> its Deployment; the spec (min/max, metrics,
  behavior) -> ``hpa`` verbatim where podsim computes the metric.

Everything else is listed as a :class:`Note` (kinds and fields podsim does
not model), never dropped silently.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ..spec.hpa import POD_METRIC_NAMES
from ..units import parse_quantity
from .manifests import Manifest

SERVING_ANNOTATION = "podsim.io/serving-container"
"""Pod-template (or Deployment) annotation naming the container that serves requests."""
KUBECTL_DEFAULT_ANNOTATION = "kubectl.kubernetes.io/default-container"
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
PROBE_FIELDS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
                "failureThreshold", "terminationGracePeriodSeconds")
PROBE_HANDLERS = ("httpGet", "grpc", "tcpSocket", "exec")
IMPORTED_KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler")

# Placeholders: a string starting with TODO (sim.spec.placeholders flags it); ", e.g. X" ends each
# with a value that would load, so that filling them is replacing the string by a measured X.
PH_WORK = "TODO: CPU time per request, e.g. 5ms"
PH_STARTUP = "TODO: container start until the app listens, e.g. 2s"
PH_CALLS = "TODO: downstream calls, e.g. []"
PH_RATE = "TODO: requests per second at the entry, e.g. 50"
PH_DURATION = "TODO: how long to simulate, e.g. 30m"
PH_METRICS = ("TODO: metrics podsim computes, e.g. "
              "[{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]")

MAPPING = [
    ("Deployment metadata.name", "services.NAME", "one service per Deployment ('.' becomes '-')"),
    ("Deployment spec.replicas", "services.NAME.replicas", "absent: 1, or the HPA's minReplicas"),
    ("containers[serving].resources.requests.cpu", "services.NAME.pod.cpu_request",
     "250m, 1.5, 2 kept as written"),
    ("containers[serving].resources.limits.cpu", "services.NAME.pod.cpu_limit", "CFS quota (throttling)"),
    ("(requests/limits.cpu)", "services.NAME.pod.cpu",
     "with a limit: max(2, ceil(limit)) (Go 1.25's GOMAXPROCS on a big enough node); else the request"),
    ("containers[serving].env GOMAXPROCS", "services.NAME.pod.gomaxprocs",
     "a number, or resourceFieldRef limits.cpu (rounded up)"),
    ("containers[serving].readinessProbe/livenessProbe/startupProbe",
     "services.NAME.readinessProbe/livenessProbe/startupProbe", "verbatim (handler descriptive)"),
    ("probe handlers all tcpSocket/exec", "services.NAME.pod.probe_path: dedicated",
     "they do not take a worker; httpGet/grpc go through the server: pool"),
    ("spec.template.spec.terminationGracePeriodSeconds", "services.NAME.pod.termination_grace", "default 30s"),
    ("spec.strategy.rollingUpdate.maxSurge/maxUnavailable", "rollouts[].maxSurge/maxUnavailable",
     "written commented out: a rollout happens at a time you choose"),
    ("Service spec.selector", "workload.traffic.target",
     "the Deployment whose pod-template labels it matches (Ingress backend or LoadBalancer/NodePort first)"),
    ("Service + istio-proxy/linkerd-proxy sidecar", "services.NAME.load_balancer",
     "least_request (Envoy/mesh); plain kube-proxy: random"),
    ("HPA spec.scaleTargetRef", "services.NAME.hpa (on that Deployment's service)", "kept verbatim"),
    ("HPA spec.minReplicas/maxReplicas/behavior", "services.NAME.hpa.*", "verbatim"),
    ("HPA spec.metrics Resource cpu", "services.NAME.hpa.metrics", "verbatim"),
    ("HPA ContainerResource cpu of the serving container", "hpa.metrics[].type: Resource",
     "the pod is that container in podsim"),
    ("HPA Pods/Object metric with another name", "hpa.metrics[].pods.metric.name placeholder",
     "choose requests_per_second, in_flight, queue_length or cpu"),
    ("HPA autoscaling/v1 targetCPUUtilizationPercentage", "hpa.metrics Resource cpu Utilization", ""),
]

_NO_EFFECT = {
    "image", "imagePullPolicy", "command", "args", "workingDir", "volumeMounts", "volumeDevices", "volumes",
    "serviceAccountName", "serviceAccount", "securityContext", "dnsPolicy", "dnsConfig", "restartPolicy",
    "schedulerName", "imagePullSecrets", "revisionHistoryLimit", "progressDeadlineSeconds",
    "terminationMessagePath", "terminationMessagePolicy", "clusterIP", "clusterIPs", "ipFamilies",
    "ipFamilyPolicy", "internalTrafficPolicy", "automountServiceAccountToken", "enableServiceLinks",
    "hostname", "subdomain", "stdin", "stdinOnce", "tty", "envFrom", "ports", "type", "runtimeClassName",
    "shareProcessNamespace", "hostAliases", "publishNotReadyAddresses", "loadBalancerIP",
    "loadBalancerSourceRanges", "loadBalancerClass", "allocateLoadBalancerNodePorts", "healthCheckNodePort",
    "preemptionPolicy", "setHostnameAsFQDN", "os", "resizePolicy",
}
_REASONS = {
    "memory": "podsim models CPU only (no memory, no OOM kills)",
    "ephemeral-storage": "podsim models CPU only",
    "hugepages-2Mi": "podsim models CPU only",
    "lifecycle": "hooks are not modeled (a preStop sleep delays nothing; termination_grace drains in-flight work)",
    "initContainers": "not modeled: add the time they take to pod.startup",
    "affinity": "node placement is not modeled (cluster.nodes is one pool of identical nodes)",
    "nodeSelector": "node placement is not modeled (cluster.nodes is one pool of identical nodes)",
    "nodeName": "node placement is not modeled",
    "tolerations": "node placement is not modeled",
    "topologySpreadConstraints": "node placement is not modeled",
    "priorityClassName": "priorities and preemption are not modeled",
    "priority": "priorities and preemption are not modeled",
    "minReadySeconds": "not modeled: a pod is available as soon as it is Ready",
    "paused": "not modeled",
    "sessionAffinity": "not modeled: every request is load balanced anew",
    "sessionAffinityConfig": "not modeled: every request is load balanced anew",
    "externalTrafficPolicy": "not modeled: traffic enters through the workload",
    "externalIPs": "not modeled: traffic enters through the workload",
    "externalName": "not modeled",
    "readinessGates": "not modeled: Ready is the readiness probe",
    "overhead": "not modeled: pod.cpu_request is the serving container's",
    "env": "not modeled (GOMAXPROCS excepted)",
    "hostNetwork": "no effect in podsim",
    "status": "observed state, ignored",
    "trafficDistribution": "not modeled: no zones",
}


@dataclass
class Note:
    """Something the manifests say that podsim does not import."""

    where: str            # file or file#N
    obj: str              # 'Deployment api'
    path: str             # the field ('' for the whole object)
    reason: str
    significant: bool = True  # False: no effect on a simulation (ports, image, ...)

    def __str__(self) -> str:
        what = f"{self.obj} {self.path}".strip()
        return f"{what} ({self.where}): {self.reason}"


@dataclass
class Probe:
    kind: str            # readinessProbe, ...
    spec: dict           # what podsim takes, verbatim
    handler: str         # httpGet, grpc, tcpSocket, exec or 'none'


@dataclass
class ImportedService:
    name: str
    source: Manifest
    container: str
    container_reason: str
    image: str = ""
    replicas: int = 1
    replicas_note: str = ""
    cpu: Any = 1
    cpu_note: str = ""
    cpu_request: Any = None
    cpu_limit: Any = None
    gomaxprocs: Optional[int] = None
    gomaxprocs_note: str = ""
    termination_grace: str = "30s"
    termination_note: str = "Kubernetes' default"
    probes: list[Probe] = field(default_factory=list)
    probe_path: Optional[str] = None
    rollout: Optional[dict] = None
    sidecars: list[str] = field(default_factory=list)
    mesh: str = ""
    load_balancer: Any = "random"
    lb_note: str = ""
    k8s_services: list[str] = field(default_factory=list)
    hpa: Optional[dict] = None
    hpa_source: Optional[Manifest] = None
    hpa_notes: list[str] = field(default_factory=list)
    env_hints: list[str] = field(default_factory=list)
    labels: dict = field(default_factory=dict)
    namespace: str = "default"


@dataclass
class Imported:
    """Everything ``podsim import`` read, ready for the writer."""

    services: dict[str, ImportedService]
    entry: Optional[str]
    entry_reason: str
    imported: list[str]                 # 'Deployment api (k8s/deployment.yaml)'
    notes: list[Note]                   # not imported: kinds and fields
    warnings: list[str]                 # a Service or HPA that matches nothing, ...


# ----------------------------------------------------------------------------- quantities
def cpu_quantity(value: Any) -> tuple[Any, float]:
    """A CPU quantity as the scenario writes it and as cores: ``250m`` -> ('250m', 0.25).

    Kubernetes' forms (``250m``, ``1.5``, ``2``, ``"2"``, ``1e3m``) are read by
    apimachinery's rules; the text is kept where podsim reads it as written
    (``250m``, ``1.5``), else the number of cores is written.
    """
    cores = parse_quantity(value)
    if cores <= 0 or not math.isfinite(cores):
        raise ValueError(f"CPU quantity must be > 0 (got {value!r})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value, float(cores)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?m?", text):
        return (int(text) if text.isdigit() else text if text.endswith("m") else float(text)), cores
    return round(cores, 6), cores


def scenario_name(name: str) -> str:
    """A Kubernetes name as a podsim name (letters, digits, '-' or '_')."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", name).strip("-_") or "service"
    return cleaned if cleaned[0].isalnum() else "s" + cleaned


# ----------------------------------------------------------------------------- fields left over
def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def leftovers(obj: Any, handled: dict, prefix: str) -> list[tuple[str, str, bool]]:
    """(path, reason, significant) of every key of ``obj`` not in ``handled``.

    ``handled`` maps a key to ``True`` (read, with everything under it) or to
    a nested ``handled`` mapping. A key not handled is reported once, at its
    own path, not key by key beneath it.
    """
    found = []
    for key, value in _mapping(obj).items():
        path = f"{prefix}.{key}" if prefix else str(key)
        rule = handled.get(key)
        if rule is True:
            continue
        if isinstance(rule, dict):
            found += leftovers(value, rule, path)
            continue
        if value in (None, {}, []):
            continue  # an empty field says nothing
        if key in _REASONS:
            found.append((path, _REASONS[key], key not in ("hostNetwork", "env", "status")))
        elif key in _NO_EFFECT:
            found.append((path, "no effect in podsim", False))
        else:
            found.append((path, "not modeled by podsim", True))
    return found


_METADATA = {"name": True, "namespace": True, "labels": True, "annotations": True, "uid": True,
             "resourceVersion": True, "generation": True, "creationTimestamp": True, "managedFields": True,
             "selfLink": True, "ownerReferences": True, "finalizers": True, "generateName": True,
             "deletionTimestamp": True, "deletionGracePeriodSeconds": True}
_TOP = {"apiVersion": True, "kind": True, "metadata": _METADATA}
_PROBE = {k: True for k in (*PROBE_FIELDS, *PROBE_HANDLERS)}
_CONTAINER = {"name": True, "image": True, "resources": {"requests": {"cpu": True}, "limits": {"cpu": True},
                                                           "claims": True},
              **{p: _PROBE for p in PROBES}}
_DEPLOYMENT = {**_TOP, "spec": {
    "replicas": True, "selector": True,
    "strategy": {"type": True, "rollingUpdate": {"maxSurge": True, "maxUnavailable": True}},
    "template": {"metadata": _METADATA, "spec": {"containers": True, "terminationGracePeriodSeconds": True}}}}
_SERVICE = {**_TOP, "spec": {"selector": True}}
_HPA = {**_TOP, "spec": {"scaleTargetRef": True, "minReplicas": True, "maxReplicas": True, "metrics": True,
                         "behavior": True, "targetCPUUtilizationPercentage": True}}


def _notes(manifest: Manifest, found: list[tuple[str, str, bool]]) -> list[Note]:
    return [Note(manifest.where, manifest.label(), path, reason, significant)
            for path, reason, significant in found]


# ----------------------------------------------------------------------------- Deployment
def serving_container(deployment: dict) -> tuple[int, str]:
    """(index, why) of the container that serves requests.

    The pod template's (or the Deployment's) annotation
    ``podsim.io/serving-container: NAME``, else
    ``kubectl.kubernetes.io/default-container: NAME``, else the first
    container. ValueError if an annotation names no container.
    """
    template = _mapping(_mapping(deployment.get("spec")).get("template"))
    containers = [c for c in _list(_mapping(template.get("spec")).get("containers")) if isinstance(c, dict)]
    if not containers:
        raise ValueError("spec.template.spec.containers is empty: a Deployment needs a container")
    names = [str(c.get("name")) for c in containers]
    for notes in (_mapping(_mapping(template.get("metadata")).get("annotations")),
                  _mapping(_mapping(deployment.get("metadata")).get("annotations"))):
        for key in (SERVING_ANNOTATION, KUBECTL_DEFAULT_ANNOTATION):
            if key in notes:
                wanted = str(notes[key])
                if wanted not in names:
                    close = difflib.get_close_matches(wanted, names, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ValueError(f"annotation {key}: {wanted!r} names no container{hint} "
                                     f"(containers: {', '.join(names)})")
                return names.index(wanted), f"annotation {key}"
    return 0, "the first container" if len(containers) > 1 else "the only container"


def _probe(kind: str, spec: Any) -> Probe:
    spec = _mapping(spec)
    kept = {k: spec[k] for k in (*PROBE_HANDLERS, *PROBE_FIELDS) if k in spec and spec[k] is not None}
    handler = next((h for h in PROBE_HANDLERS if h in spec), "none")
    for h in PROBE_HANDLERS:  # the handler's contents are descriptive; keep them small and plain
        if h in kept and not isinstance(kept[h], dict):
            kept[h] = {}
    return Probe(kind, kept, handler)


def _gomaxprocs(container: dict, limit: Optional[float]) -> tuple[Optional[int], str]:
    for var in _list(container.get("env")):
        var = _mapping(var)
        if var.get("name") != "GOMAXPROCS":
            continue
        if "value" in var:
            try:
                return max(1, int(str(var["value"]).strip())), "env GOMAXPROCS"
            except ValueError:
                return None, ""
        ref = _mapping(_mapping(var.get("valueFrom")).get("resourceFieldRef"))
        source = ref.get("resource")
        if source in ("limits.cpu", "requests.cpu"):
            try:
                divisor = parse_quantity(ref.get("divisor", 1)) or 1.0
            except ValueError:
                divisor = 1.0
            cores = limit if source == "limits.cpu" else None
            if cores is not None:
                return max(1, math.ceil(cores / divisor - 1e-9)), f"env GOMAXPROCS from {source} (rounded up)"
    return None, ""


_MESH = {"istio-proxy": "Istio (Envoy)", "linkerd-proxy": "Linkerd", "envoy": "Envoy"}


def deployment_service(manifest: Manifest) -> tuple[ImportedService, list[Note]]:
    """A Deployment as a podsim service, and the notes on what it did not carry over."""
    dep = manifest.obj
    spec = _mapping(dep.get("spec"))
    template = _mapping(spec.get("template"))
    pod_spec = _mapping(template.get("spec"))
    containers = [c for c in _list(pod_spec.get("containers")) if isinstance(c, dict)]
    index, why = serving_container(dep)
    main = containers[index]
    cname = str(main.get("name") or f"containers[{index}]")
    svc = ImportedService(name=scenario_name(manifest.name), source=manifest, container=cname,
                          container_reason=why, image=str(main.get("image") or ""),
                          namespace=manifest.namespace,
                          labels=dict(_mapping(_mapping(template.get("metadata")).get("labels"))))
    notes = _notes(manifest, leftovers(dep, _DEPLOYMENT, ""))
    prefix = f"spec.template.spec.containers[{index}]"
    notes += _notes(manifest, leftovers(main, {**_CONTAINER, "env": _env_handled(main)}, prefix))

    replicas = spec.get("replicas")
    if replicas is None:
        svc.replicas, svc.replicas_note = 1, "spec.replicas absent: Kubernetes' default"
    else:
        svc.replicas, svc.replicas_note = _whole(replicas, "spec.replicas"), "spec.replicas"

    resources = _mapping(main.get("resources"))
    request = _mapping(resources.get("requests")).get("cpu")
    limit = _mapping(resources.get("limits")).get("cpu")
    limit_cores = None
    if limit is not None:
        svc.cpu_limit, limit_cores = _cpu(limit, f"{prefix}.resources.limits.cpu")
    if request is not None:
        svc.cpu_request, request_cores = _cpu(request, f"{prefix}.resources.requests.cpu")
    elif limit is not None:
        request_cores = limit_cores  # Kubernetes defaults the request to the limit
    else:
        request_cores = None
    if limit_cores is not None:
        svc.cpu = max(2, math.ceil(limit_cores - 1e-9))
        svc.cpu_note = (f"cores its threads may run on: max(2, ceil(limits.cpu)), which makes GOMAXPROCS "
                        f"what Go 1.25 sets on a node of {svc.cpu}+ cores; the quota is cpu_limit")
    elif request_cores is not None:
        svc.cpu = svc.cpu_request
        svc.cpu_note = ("no limits.cpu: the request is what the pod gets on a busy node, so its CPU "
                        "utilization stays under 100 % here; on nodes with idle cores it may use more, and "
                        "Kubernetes' HPA then sees more (set cpu to the cores it really gets)")
    else:
        svc.cpu = 1
        svc.cpu_note = "no requests.cpu or limits.cpu in the manifest: 1 core assumed"
    svc.gomaxprocs, svc.gomaxprocs_note = _gomaxprocs(main, limit_cores)

    grace = pod_spec.get("terminationGracePeriodSeconds")
    if grace is not None:
        seconds = _whole(grace, "spec.template.spec.terminationGracePeriodSeconds")
        svc.termination_grace, svc.termination_note = f"{seconds}s", "terminationGracePeriodSeconds"

    svc.probes = [_probe(kind, main[kind]) for kind in PROBES if isinstance(main.get(kind), dict)]
    handlers = {p.handler for p in svc.probes}
    if svc.probes and handlers <= {"tcpSocket", "exec"}:
        svc.probe_path = "dedicated"

    strategy = _mapping(spec.get("strategy"))
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        rolling = _mapping(strategy.get("rollingUpdate"))
        svc.rollout = {"service": svc.name, "at": "10m",
                       "maxSurge": rolling.get("maxSurge", "25%"),
                       "maxUnavailable": rolling.get("maxUnavailable", "25%")}
    else:
        notes.append(Note(manifest.where, manifest.label(), "spec.strategy.type",
                          f"{strategy.get('type')}: only rolling updates are modeled (rollouts)"))

    for i, other in enumerate(containers):
        if i == index:
            continue
        oname = str(other.get("name") or f"containers[{i}]")
        svc.sidecars.append(oname)
        req = _mapping(_mapping(other.get("resources")).get("requests")).get("cpu")
        extra = ""
        if req is not None:
            extra = (f"; its requests.cpu {req} counts in the pod's requests, the denominator of a "
                     f"Resource cpu Utilization HPA in Kubernetes (podsim's is cpu_request alone)")
        notes.append(Note(manifest.where, manifest.label(), f"spec.template.spec.containers[{i}] ({oname})",
                          f"container not modeled: podsim's pod is the serving container {cname!r} "
                          f"({why}){extra}"))
        if oname in _MESH and not svc.mesh:
            svc.mesh = _MESH[oname]
    annotations = _mapping(_mapping(template.get("metadata")).get("annotations"))
    if not svc.mesh and str(annotations.get("sidecar.istio.io/inject", "")).lower() == "true":
        svc.mesh = "Istio (Envoy), injected"
    if not svc.mesh and str(annotations.get("linkerd.io/inject", "")).lower() == "enabled":
        svc.mesh = "Linkerd, injected"
    if svc.mesh:
        svc.load_balancer = {"type": "least_request", "choice_count": 2}
        svc.lb_note = f"{svc.mesh} balances each request, least-request by default"
    else:
        svc.lb_note = ("kube-proxy (iptables) picks a pod at random per connection; with keep-alive "
                       "connections the spread is coarser than per request")
    return svc, notes


def _whole(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"{where}: must be a whole number >= 0 (got {value!r})")


def _cpu(value: Any, where: str) -> tuple[Any, float]:
    try:
        return cpu_quantity(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (got {value!r})") from None


def _env_handled(container: dict) -> Any:
    env = _list(container.get("env"))
    names = [str(_mapping(v).get("name")) for v in env]
    return True if names and set(names) <= {"GOMAXPROCS"} else None


def env_hints(container: dict, services: dict[str, str]) -> list[str]:
    """Env vars whose value names another Service as a host: hints of the call graph."""
    hints = []
    for var in _list(container.get("env")):
        var = _mapping(var)
        value = str(var.get("value") or "")
        for k8s_name, target in services.items():
            if re.search(rf"(^|[/@:\s,]){re.escape(k8s_name)}(\.[a-z0-9.-]+)?(:\d+|/|$|,)", value):
                hints.append(f"{var.get('name')}={value} -> {target}")
    return hints


# ----------------------------------------------------------------------------- Service
def selects(selector: dict, labels: dict) -> bool:
    """A Service selector matches a pod when every one of its labels is on the pod."""
    return bool(selector) and all(k in labels and str(labels[k]) == str(v) for k, v in selector.items())


# ----------------------------------------------------------------------------- HPA
def hpa_block(manifest: Manifest, svc: ImportedService) -> tuple[dict, list[str], list[Note]]:
    """The ``hpa`` block of ``svc`` from an HPA manifest, its comments and notes."""
    spec = _mapping(manifest.obj.get("spec"))
    api = str(manifest.obj.get("apiVersion") or "")
    notes = _notes(manifest, leftovers(manifest.obj, _HPA, ""))
    comments: list[str] = []
    block: dict[str, Any] = {}
    if "scaleTargetRef" in spec:
        ref = _mapping(spec["scaleTargetRef"])
        block["scaleTargetRef"] = {k: ref[k] for k in ("apiVersion", "kind", "name") if k in ref}
    block["minReplicas"] = spec.get("minReplicas", 1)
    block["maxReplicas"] = spec.get("maxReplicas")
    if api == "autoscaling/v1" or "targetCPUUtilizationPercentage" in spec:
        target = spec.get("targetCPUUtilizationPercentage")
        if target is not None:
            block["metrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
            comments.append("autoscaling/v1 targetCPUUtilizationPercentage as an autoscaling/v2 metric")
    else:
        metrics = []
        for i, metric in enumerate(_list(spec.get("metrics"))):
            kept, why = _metric(_mapping(metric), svc.container)
            where = f"spec.metrics[{i}]"
            if kept is None:
                notes.append(Note(manifest.where, manifest.label(), where, why))
                continue
            if why:
                comments.append(f"metrics[{len(metrics)}]: {why}")
            metrics.append(kept)
        if metrics:
            block["metrics"] = metrics
        elif spec.get("metrics"):
            block["metrics"] = PH_METRICS
            comments.append("no metric of this HPA is one podsim computes (see the notes at the top)")
    if "behavior" in spec and spec["behavior"] is not None:
        block["behavior"] = spec["behavior"]
    uses_utilization = any(isinstance(m, dict) and m.get("type") == "Resource"
                           and _mapping(_mapping(m.get("resource")).get("target")).get("type") == "Utilization"
                           for m in (block.get("metrics") if isinstance(block.get("metrics"), list) else []))
    if "metrics" not in block:
        uses_utilization = True  # Kubernetes' default: CPU 80 %
    if uses_utilization and svc.cpu_request is None and svc.cpu_limit is None:
        comments.append("CPU Utilization needs requests.cpu, which the container lacks: Kubernetes' HPA "
                        "cannot compute it (FailedGetResourceMetric); podsim measures against pod.cpu")
    return block, comments, notes


def _metric(metric: dict, container: str) -> tuple[Optional[dict], str]:
    """(the metric as podsim takes it, a comment) or (None, why it is left out)."""
    kind = metric.get("type")
    if kind == "Resource":
        name = _mapping(metric.get("resource")).get("name")
        if name == "cpu":
            return metric, ""
        return None, f"Resource {name}: podsim models CPU only"
    if kind == "ContainerResource":
        source = _mapping(metric.get("containerResource"))
        if source.get("name") != "cpu":
            return None, f"ContainerResource {source.get('name')}: podsim models CPU only"
        if source.get("container") != container:
            return None, (f"ContainerResource cpu of container {source.get('container')!r}: podsim "
                          f"models the serving container {container!r} only")
        return ({"type": "Resource", "resource": {"name": "cpu", "target": source.get("target")}},
                f"ContainerResource cpu of {container!r} is Resource cpu: podsim's pod is that container")
    if kind in ("Pods", "Object"):
        key = kind.lower()
        source = dict(_mapping(metric.get(key)))
        ident = dict(_mapping(source.get("metric")))
        name = ident.get("name")
        if kind == "Object":
            described = _mapping(source.get("describedObject"))
            if described.get("kind") != "Service":
                return None, (f"Object metric on a {described.get('kind')}: podsim computes Object "
                              "metrics of a Service only")
        if name in POD_METRIC_NAMES:
            return metric, ""
        ident["name"] = f"TODO: podsim metric for {name}, e.g. requests_per_second"
        ident.pop("selector", None)
        source["metric"] = ident
        return ({"type": kind, key: source},
                f"{kind} metric {name!r}: choose the podsim metric it means "
                f"({', '.join(POD_METRIC_NAMES)})")
    if kind == "External":
        name = _mapping(_mapping(metric.get("external")).get("metric")).get("name")
        return None, (f"External metric {name!r}: podsim's External metric is "
                      "<workload>.requests_per_second (write it by hand if it means that)")
    return None, f"metric type {kind!r} is not one podsim computes"


# ----------------------------------------------------------------------------- everything
def import_objects(manifests: list[Manifest]) -> Imported:
    """Every object -> services, entry, notes and warnings (no services if there is no Deployment).

    :class:`ImportProblems` if a Deployment cannot be read (no container, a bad CPU quantity, a
    serving-container annotation naming no container)."""
    notes: list[Note] = []
    warnings: list[str] = []
    imported: list[str] = []
    services: dict[str, ImportedService] = {}
    errors: list[tuple[str, str]] = []
    by_kind: dict[str, list[Manifest]] = {}
    for m in manifests:
        by_kind.setdefault(m.kind, []).append(m)
    for m in manifests:
        if m.kind not in IMPORTED_KINDS:
            notes.append(Note(m.where, m.label(), "", _kind_reason(m.kind)))

    for m in by_kind.get("Deployment", []):
        try:
            svc, found = deployment_service(m)
        except ValueError as exc:
            errors.append((m.where, f"{m.label()}: {exc}"))
            continue
        if svc.name in services:  # the same name in two namespaces
            svc.name = scenario_name(f"{svc.name}-{svc.namespace}")
        if svc.rollout:
            svc.rollout["service"] = svc.name
        services[svc.name] = svc
        notes += found
        imported.append(f"Deployment {m.name} ({m.where}) -> services.{svc.name}")
    if errors:
        raise ImportProblems(errors)

    k8s_to_service: dict[str, str] = {}
    entry_candidates: list[tuple[int, int, str, str]] = []  # (rank, order, service, why)
    ingress_backends = _ingress_backends(by_kind.get("Ingress", []))
    for order, m in enumerate(by_kind.get("Service", [])):
        selector = _mapping(_mapping(m.obj.get("spec")).get("selector"))
        notes += _notes(m, leftovers(m.obj, _SERVICE, ""))
        if not selector:
            warnings.append(f"Service {m.name} ({m.where}) has no selector: its endpoints are managed by "
                            "hand, so it matches no Deployment; not imported")
            continue
        matched = [s for s in services.values() if s.namespace == m.namespace and selects(selector, s.labels)]
        if not matched:
            shown = ", ".join(f"{k}={v}" for k, v in selector.items())
            warnings.append(f"Service {m.name} ({m.where}): selector {shown} matches no Deployment's "
                            "pod labels; not imported")
            continue
        if len(matched) > 1:
            warnings.append(f"Service {m.name} ({m.where}) selects several Deployments "
                            f"({', '.join(s.name for s in matched)}): podsim sends its traffic to "
                            f"{matched[0].name} only")
        target = matched[0]
        target.k8s_services.append(m.name)
        k8s_to_service[m.name] = target.name
        imported.append(f"Service {m.name} ({m.where}) -> selects services.{target.name}")
        stype = str(_mapping(m.obj.get("spec")).get("type") or "ClusterIP")
        rank = 0 if m.name in ingress_backends else 1 if stype in ("LoadBalancer", "NodePort") else 2
        why = {0: f"Service {m.name}, the backend of an Ingress",
               1: f"Service {m.name} of type {stype}",
               2: f"Service {m.name}, the first Service"}[rank]
        entry_candidates.append((rank, order, target.name, why))

    for m in by_kind.get("HorizontalPodAutoscaler", []):
        ref = _mapping(_mapping(m.obj.get("spec")).get("scaleTargetRef"))
        target = next((s for s in services.values()
                       if ref.get("kind") == "Deployment" and s.source.name == ref.get("name")
                       and s.namespace == m.namespace), None)
        if target is None:
            warnings.append(f"HorizontalPodAutoscaler {m.name} ({m.where}): scaleTargetRef "
                            f"{ref.get('kind')}/{ref.get('name')} is not an imported Deployment; not imported")
            continue
        if target.hpa is not None:
            warnings.append(f"HorizontalPodAutoscaler {m.name} ({m.where}): {target.name} already has the HPA "
                            f"{target.hpa_source.name}; not imported (Kubernetes would fight over it too)")
            continue
        block, comments, found = hpa_block(m, target)
        notes += found
        target.hpa, target.hpa_source, target.hpa_notes = block, m, comments
        imported.append(f"HorizontalPodAutoscaler {m.name} ({m.where}) -> services.{target.name}.hpa")
        low, high = block.get("minReplicas", 1), block.get("maxReplicas")
        if target.replicas_note.startswith("spec.replicas absent") and isinstance(low, int):
            target.replicas, target.replicas_note = max(low, 1), "spec.replicas absent: the HPA's minReplicas"
        if isinstance(high, int) and target.replicas > high:
            target.replicas_note = f"spec.replicas {target.replicas}, above the HPA's maxReplicas: {high}"
            target.replicas = high

    for svc in services.values():
        main = _container(svc)
        svc.env_hints = env_hints(main, {k: v for k, v in k8s_to_service.items() if v != svc.name})

    if entry_candidates:
        _, _, entry, why = min(entry_candidates)
    elif services:
        entry, why = next(iter(services)), "no Service selects a Deployment: the first Deployment"
    else:
        entry, why = None, ""
    return Imported(services, entry, why, imported, notes, warnings)


def _container(svc: ImportedService) -> dict:
    spec = _mapping(_mapping(_mapping(svc.source.obj.get("spec")).get("template")).get("spec"))
    for c in _list(spec.get("containers")):
        if _mapping(c).get("name") == svc.container:
            return c
    return {}


def _ingress_backends(ingresses: list[Manifest]) -> set[str]:
    names: set[str] = set()
    for m in ingresses:
        spec = _mapping(m.obj.get("spec"))
        backends = [_mapping(spec.get("defaultBackend"))]
        for rule in _list(spec.get("rules")):
            for path in _list(_mapping(_mapping(rule).get("http")).get("paths")):
                backends.append(_mapping(_mapping(path).get("backend")))
        for b in backends:
            name = _mapping(b.get("service")).get("name") or b.get("serviceName")
            if name:
                names.add(str(name))
    return names


def _kind_reason(kind: str) -> str:
    if kind in ("StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob", "Rollout"):
        return (f"kind {kind} is not imported (podsim imports Deployment, Service, HorizontalPodAutoscaler); "
                "model its pods as a service by hand if requests reach them")
    if kind == "Ingress":
        return "kind Ingress is not modeled (its backend Service is preferred as the traffic's entry)"
    if kind == "PodDisruptionBudget":
        return "kind PodDisruptionBudget is not modeled (no voluntary disruptions besides rollouts)"
    return f"kind {kind} is not modeled (podsim imports Deployment, Service, HorizontalPodAutoscaler)"


class ImportProblems(ValueError):
    """Manifests that cannot be imported: (where, what) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{w}: {m}" for w, m in problems))
