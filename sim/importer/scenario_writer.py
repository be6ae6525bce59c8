"""Writing an imported scenario as commented YAML, in the house style of models/*.yaml.

Everything the manifests could not say (CPU time per request, startup time,
the call graph, the traffic, the duration) is a placeholder: a string
starting with ``TODO`` and ending with ``, e.g. VALUE``, under a
``# TODO: measure`` comment saying what to measure and how. ``podsim check``
reports each one at its path (:mod:`sim.spec.placeholders`) until it is
replaced. Values the manifests do not give but that have a sensible default
are written out with a ``# check:`` comment.
"""
from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from typing import Any, Sequence

import yaml

from ..spec.placeholders import find_placeholders, is_placeholder
from .k8s import PH_CALLS, PH_DURATION, PH_RATE, PH_STARTUP, PH_WORK, Imported, ImportedService, Note

COMMENT_AT = 34
"""Column of trailing comments."""


class _Dumper(yaml.SafeDumper):
    """Placeholders in double quotes (as everywhere else in the file)."""


def _str(dumper: yaml.SafeDumper, value: str):
    style = '"' if is_placeholder(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def flow(value: Any) -> str:
    """``value`` as one line of YAML (a scalar, or a flow mapping/list)."""
    if is_placeholder(value):
        return json.dumps(value)
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=10 ** 9, sort_keys=False).strip()
    return text[:-4].rstrip() if text.endswith("\n...") else text


def block(value: Any, indent: int) -> list[str]:
    """``value`` (a mapping) as block YAML lines indented by ``indent``, leaves in flow style."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=None, width=10 ** 9, sort_keys=False)
    return [" " * indent + line for line in text.rstrip("\n").split("\n")]


def line(indent: int, key: str, value: Any, comment: str = "") -> str:
    text = f"{' ' * indent}{key}: {flow(value)}"
    if comment:
        text = f"{text.ljust(COMMENT_AT - 1)} # {comment}"
    return text


def comment_lines(indent: int, text: str, first: str = "# ", width: int = 100) -> list[str]:
    """``text`` as wrapped comment lines; continuation lines are indented two more than ``first``."""
    pad = " " * indent
    cont = "#" + " " * (len(first) + 1)
    return textwrap.wrap(text, width=width - indent, initial_indent=pad + first, subsequent_indent=pad + cont,
                         break_on_hyphens=False, break_long_words=False)


def workload_name(imported: Imported) -> str:
    for name in ("traffic", "clients", "incoming"):
        if name not in imported.services:
            return name
    return "traffic-0"


def write_scenario(imported: Imported, name: str, source: str, skipped: Sequence[str] = ()) -> str:
    """The commented scenario text (``skipped``: documents that were not Kubernetes objects)."""
    out: list[str] = []
    kinds = ", ".join(item.split(" (")[0] for item in imported.imported)
    out += comment_lines(0, f"Imported by `podsim import {source}` from Kubernetes manifests: {kinds}.")
    out += ["#"]
    out += comment_lines(0, "Fill every value that starts with TODO: the '# TODO: measure' comment above it "
                            "says what to measure and how, and its 'e.g.' shows the form. `podsim check` "
                            "lists the ones left. Values the manifests do not give but that have a "
                            "default are written out with a '# check:' comment.")
    significant = [n for n in imported.notes if n.significant]
    quiet = [n for n in imported.notes if not n.significant]
    if significant or skipped:
        out += ["#", "# Not imported (podsim has no such key, or models it differently):"]
        for note in [*map(str, significant), *skipped]:
            out += comment_lines(0, note, first="#   - ")
    if quiet:
        out += ["#", "# No effect on a simulation, ignored:"]
        for obj, paths in _group(quiet).items():
            out += comment_lines(0, f"{obj}: {', '.join(paths)}", first="#   - ")
    if imported.warnings:
        out += ["#", "# Warnings:"]
        for warning in imported.warnings:
            out += comment_lines(0, warning, first="#   - ")
    out.append(f"name: {flow(name)}")
    out.append(f"description: {flow(f'imported by podsim import from {source}')}")
    out.append("")
    out += comment_lines(0, "TODO: measure: how long to simulate: long enough for the traffic shape you "
                            "study plus the HPA's reaction (minutes; the HPA scales down after 5 minutes "
                            "of stabilization).")
    out.append(f"duration: {flow(PH_DURATION)}")
    out += comment_lines(0, "warmup: statistics ignore requests that arrive before it; at 0 s every pod is "
                            "starting and not yet Ready, so the first seconds refuse traffic (no_endpoint).")
    out.append("# warmup: 1m")
    out.append("sample_interval: 5s")
    out.append("")
    out += _workload(imported)
    out.append("")
    out.append("services:")
    for svc in imported.services.values():
        out += _service(svc, imported)
    rollouts = [svc.rollout for svc in imported.services.values() if svc.rollout]
    if rollouts:
        out.append("")
        out += comment_lines(0, "A rolling update as the Deployments' strategy.rollingUpdate does it, at a "
                                "time you choose: uncomment to simulate one.")
        out.append("# rollouts:")
        for rollout in rollouts:
            out.append(f"#   - {flow(rollout)}")
    return "\n".join(out) + "\n"


def _group(notes: list[Note]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for note in notes:
        grouped[f"{note.obj} ({note.where})"].append(note.path)
    return grouped


def _workload(imported: Imported) -> list[str]:
    entry = imported.entry
    out = ["workload:", f"  {workload_name(imported)}:"]
    out.append(line(4, "target", entry, f"{imported.entry_reason}"))
    out.append("    arrivals:")
    k8s = imported.services[entry].k8s_services if entry else []
    where = f"Service {k8s[0]}" if k8s else f"Deployment {entry}"
    out += comment_lines(6, f"TODO: measure: requests per second reaching {where} from outside the cluster, "
                            "at the hour you want to study: sum(rate(http_requests_total[5m])) of its pods, "
                            "or the ingress/load balancer's request rate. A day's shape instead: "
                            "profile: [{at: 0h, rate: 8}, {at: 9h, rate: 40}] with linear: true.")
    out.append(line(6, "rate", PH_RATE))
    out.append("    # client: {timeout: 2s, retry: {max_attempts: 2}}   # the callers' own timeout and retries")
    return out


def _service(svc: ImportedService, imported: Imported) -> list[str]:
    out = [f"  {flow(svc.name)}:".ljust(COMMENT_AT - 1) + f" # Deployment {svc.source.name} ({svc.source.where})"]
    out.append(line(4, "replicas", svc.replicas, svc.replicas_note))
    lb_note = svc.lb_note
    out += comment_lines(4, f"check: {lb_note}")
    out.append(line(4, "load_balancer", svc.load_balancer))
    out.append("    pod:".ljust(COMMENT_AT - 1) + f" # container {svc.container!r} ({svc.container_reason})")
    out += comment_lines(6, f"check: {svc.cpu_note}")
    out.append(line(6, "cpu", svc.cpu))
    if svc.cpu_request is not None:
        out.append(line(6, "cpu_request", svc.cpu_request, "requests.cpu: what HPA utilization is of"))
    if svc.cpu_limit is not None:
        out.append(line(6, "cpu_limit", svc.cpu_limit, "limits.cpu: CFS quota (throttling)"))
    if svc.gomaxprocs is not None:
        out.append(line(6, "gomaxprocs", svc.gomaxprocs, svc.gomaxprocs_note))
    out += comment_lines(6, "check: requests served at once and the waiting room beyond them: your server's "
                            "concurrency limit (a goroutine or thread pool, max connections); Go's net/http "
                            "has none, so a large pool.")
    out.append(line(6, "workers", 32))
    out.append(line(6, "queue", 128))
    out += comment_lines(6, f"TODO: measure: CPU seconds per request of container {svc.container!r} near the "
                            "load you want to predict: rate(container_cpu_usage_seconds_total"
                            f"{{container=\"{svc.container}\"}}[5m]) / rate(its requests[5m]), or a CPU "
                            "profile (pprof) over N requests divided by N. A distribution is better than a "
                            "constant: {dist: lognormal, mean: 5ms, cv: 1}.")
    out.append(line(6, "work", PH_WORK))
    out.append("      # io: 0s                        # time holding a worker without CPU (a database wait)")
    out += comment_lines(6, "TODO: measure: from the container's start until the app listens: the app's "
                            "'listening on' log line minus the container's startedAt (kubectl get pod -o "
                            "yaml), e.g. {dist: uniform, low: 1s, high: 3s}.")
    out.append(line(6, "startup", PH_STARTUP))
    image = f" of {svc.image}" if svc.image else ""
    out += comment_lines(6, f"check: pulling the image{image} when it is not cached on the node: kubectl get "
                            "events shows 'Successfully pulled image ... in 3.2s'.")
    out.append(line(6, "image_pull", "0s"))
    out.append(line(6, "termination_grace", svc.termination_grace, svc.termination_note))
    if svc.probe_path:
        out.append(line(6, "probe_path", svc.probe_path,
                        "tcpSocket/exec probes do not take a worker"))
    for probe in svc.probes:
        out.append(f"    {probe.kind}:".ljust(COMMENT_AT - 1)
                   + f" # {probe.handler}: a small request to the pod (pod.probe_work)")
        for key, value in probe.spec.items():
            out.append(line(6, key, value))
    if svc.hpa is not None:
        src = svc.hpa_source
        out.append("    hpa:".ljust(COMMENT_AT - 1)
                   + f" # HorizontalPodAutoscaler {src.name} ({src.where}), verbatim")
        for note in svc.hpa_notes:
            out += comment_lines(6, note)
        out += block(svc.hpa, 6)
    others = [s for s in imported.services if s != svc.name]
    hints = [f"the other services here: {', '.join(others)}." if others else
             "no other service was imported: [] unless you add them by hand."]
    if svc.env_hints:
        hints.append(f"Its env names some: {'; '.join(svc.env_hints)}.")
    out += comment_lines(4, "TODO: measure: what this service calls for each request, in order, with each "
                            "call's timeout and retries (a trace in Jaeger or Tempo shows it), e.g. "
                            "[{to: users, timeout: 300ms}]; [] if it calls nothing modeled here; "
                            + " ".join(hints))
    out.append(line(4, "calls", PH_CALLS))
    return out


def placeholder_count(text: str) -> int:
    """How many placeholders a written scenario holds."""
    return len(find_placeholders(yaml.safe_load(text)))
