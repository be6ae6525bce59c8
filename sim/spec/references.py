"""Cross-references in a scenario: names used must exist, calls must not loop.

These checks read the raw mapping defensively (types may still be wrong), so
that reference problems are reported together with the schema's problems.
"""
from __future__ import annotations

import difflib
from typing import Any, Iterator

from ..errors import Problem


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _call_steps(steps: Any, prefix: str) -> Iterator[tuple[str, dict]]:
    for i, step in enumerate(_list(steps)):
        step = _mapping(step)
        if "parallel" in step:
            for j, call in enumerate(_list(step["parallel"])):
                yield f"{prefix}calls.{i}.parallel.{j}", _mapping(call)
        else:
            yield f"{prefix}calls.{i}", step


def _call_specs(service: dict) -> Iterator[tuple[str, dict]]:
    """(path suffix, raw call) of every call of a raw service, fan-outs and
    endpoints included."""
    yield from _call_steps(service.get("calls"), "")
    for name, endpoint in _mapping(service.get("endpoints")).items():
        yield from _call_steps(_mapping(endpoint).get("calls"), f"endpoints.{name}.")
    for name, channel in _mapping(service.get("channels")).items():
        for sub, spec in _mapping(_mapping(channel).get("subscribers")).items():
            yield from _call_steps(_mapping(spec).get("calls"), f"channels.{name}.subscribers.{sub}.")


def _calls(service: dict) -> Iterator[tuple[str, Any]]:
    """(path suffix of ``to``, target) of every call of a raw service."""
    for suffix, call in _call_specs(service):
        if "to" in call or "publish" not in call:
            yield f"{suffix}.to", call.get("to")


def _publishes(service: dict) -> Iterator[tuple[str, Any]]:
    """(path suffix of ``publish``, topic) of every publish of a raw service."""
    for suffix, call in _call_specs(service):
        if "publish" in call:
            yield f"{suffix}.publish", call.get("publish")


def _topic_problems(raw: dict, services: dict, topics: dict) -> list[Problem]:
    """Publishes name topics, consumers read topics, KEDA triggers fit their topic."""
    known = set(topics)
    problems: list[Problem] = []
    for name, service in services.items():
        service = _mapping(service)
        channels = set(_mapping(service.get("channels")))
        for suffix, topic in _publishes(service):
            problems += _unknown(f"services.{name}.{suffix}", topic, known | channels,
                                 "topic or channel of this service" if channels else "topic")
        clash = sorted(channels & known)
        if clash:
            problems.append(Problem(f"services.{name}.channels", f"a channel may not share a topic's "
                                    f"name: {', '.join(map(repr, clash))} (publish would be ambiguous)"))
        consumes = _mapping(service.get("consumes"))
        topic = consumes.get("topic")
        problems += _unknown(f"services.{name}.consumes.topic", topic, known, "topic")
        kind = _mapping(topics.get(topic)).get("kind") if isinstance(topic, str) else None
        if kind not in ("kafka", "queue"):
            kind = None  # a wrong kind is reported at the topic itself
        for i, trigger in enumerate(_list(_mapping(service.get("keda")).get("triggers"))):
            wanted = {"kafka": "kafka", "rabbitmq": "queue"}.get(_mapping(trigger).get("type"))
            if kind is not None and wanted is not None and wanted != kind:
                problems.append(Problem(f"services.{name}.keda.triggers.{i}.type",
                                        f"a {_mapping(trigger).get('type')} trigger needs a {wanted} "
                                        f"topic; {topic!r} is a {kind} topic", _mapping(trigger).get("type")))
    members: dict[tuple, str] = {}
    for name, service in services.items():
        consumes = _mapping(_mapping(service).get("consumes"))
        topic, group = consumes.get("topic"), consumes.get("group") or name
        if _mapping(topics.get(topic)).get("kind") == "kafka" and isinstance(group, str):
            if (topic, group) in members:
                problems.append(Problem(f"services.{name}.consumes.group",
                                        f"service {members[(topic, group)]!r} already consumes "
                                        f"{topic!r} as group {group!r}: one service per consumer "
                                        "group (scale it with replicas)", group))
            members[(topic, group)] = name
    queues = {n for n, t in topics.items() if _mapping(t).get("kind") == "queue"}
    for name, topic in topics.items():
        target = _mapping(topic).get("dead_letter")
        path = f"topics.{name}.dead_letter"
        if isinstance(target, str) and target == name:
            problems.append(Problem(path, "a queue cannot be its own dead-letter queue", target))
        elif isinstance(target, str) and target not in queues:
            problems += _unknown(path, target, queues, "queue topic") if target not in topics else \
                [Problem(path, f"{target!r} is not a queue topic (queue topics: "
                               f"{', '.join(sorted(queues)) or 'none'})", target)]
    return problems


def _call_names(services: dict) -> list[Problem]:
    """A call's ``name`` labels it in the summary: unique in the scenario."""
    seen: dict[str, str] = {}
    problems = []
    for service_name, service in services.items():
        for suffix, call in _call_specs(_mapping(service)):
            name = call.get("name")
            if not isinstance(name, str):
                continue
            path = f"services.{service_name}.{suffix}.name"
            if name in seen:
                problems.append(Problem(path, f"call name {name!r} is already used at {seen[name]}: "
                                              "names must be unique in the scenario", name))
            else:
                seen[name] = path
    return problems


def _target(path: str, to: Any, services: dict, known: set[str],
            kind: str = "service") -> list[Problem]:
    """Problems of a call's or workload's ``to``/``target``: ``NAME`` or
    ``SERVICE/ENDPOINT``, where the service has that endpoint."""
    if not isinstance(to, str):
        return []
    name, slash, endpoint = to.partition("/")
    problems = _unknown(path, name, known, kind)
    if problems or not slash:
        return problems
    if not endpoint:
        return [Problem(path, f"no endpoint after '/': write {name!r} or '{name}/ENDPOINT'", to)]
    if name not in services:
        return [Problem(path, f"{name!r} is not a service: only services have endpoints", to)]
    endpoints = set(_mapping(_mapping(services[name]).get("endpoints")))
    if not endpoints:
        return [Problem(path, f"service {name!r} has no endpoints: call it as {name!r}", to)]
    return _unknown(path, endpoint, endpoints, f"endpoint of {name!r}")


def _unknown(path: str, name: Any, known: set[str], kind: str = "service") -> list[Problem]:
    if isinstance(name, str) and name not in known:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return [Problem(path, f"no {kind} named {name!r}{hint} (known: {', '.join(sorted(known)) or 'none'})",
                        name)]
    return []


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt in graph and state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in graph:
        if state.get(start) is None:
            found = visit(start)
            if found:
                return found
    return None


def check_references(raw: dict) -> list[Problem]:
    """Every reference problem in a raw scenario mapping."""
    services = _mapping(raw.get("services"))
    externals = set(_mapping(raw.get("external")))
    topics = _mapping(raw.get("topics"))
    functions = _mapping(raw.get("functions"))
    known = set(services) | set(functions)
    callable_ = known | externals
    problems: list[Problem] = []
    for name, workload in _mapping(raw.get("workload")).items():
        target = _mapping(workload).get("target")
        path = f"workload.{name}.target"
        if isinstance(target, str) and target in externals:
            problems.append(Problem(path, f"{target!r} is an external dependency: a workload enters "
                                          "the cluster at a service, which may call it", target))
        elif not (isinstance(target, str) and target in topics):  # a topic: an event source
            problems += _target(path, target, services, known | set(topics),
                                "service or topic" if topics else "service")
    problems += _topic_problems(raw, services, topics)
    graph: dict[str, list[str]] = {}
    for name, function in functions.items():
        graph[name] = []
        for suffix, target in _call_steps(_mapping(function).get("calls"), ""):
            target = target.get("to")
            problems += _target(f"functions.{name}.{suffix}.to", target, services, callable_,
                                "service, function or external")
            if isinstance(target, str):
                graph[name].append(target.partition("/")[0])
    for name, service in services.items():
        graph[name] = []
        for suffix, target in _calls(_mapping(service)):
            if isinstance(target, str) and target in topics:
                problems.append(Problem(f"services.{name}.{suffix}", f"{target!r} is a topic: "
                                        f"write publish: {target}", target))
                continue
            problems += _target(f"services.{name}.{suffix}", target, services, callable_,
                                "service or external" if externals else "service")
            if isinstance(target, str):
                graph[name].append(target.partition("/")[0])
        for i, metric in enumerate(_list(_mapping(_mapping(service).get("hpa")).get("metrics"))):
            described = _mapping(_mapping(_mapping(metric).get("object")).get("describedObject"))
            problems += _unknown(f"services.{name}.hpa.metrics.{i}.object.describedObject.name",
                                 described.get("name"), known)
    for i, fault in enumerate(_list(raw.get("faults"))):
        fault = _mapping(fault)
        if fault.get("kind") == "latency":
            sources = known | set(_mapping(raw.get("workload")))
            problems += _unknown(f"faults.{i}.from", fault.get("from"), sources, "service or workload")
            problems += _unknown(f"faults.{i}.to", fault.get("to"), callable_, "service or external")
        else:
            problems += _unknown(f"faults.{i}.service", fault.get("service"), known)
    for i, rollout in enumerate(_list(raw.get("rollouts"))):
        problems += _unknown(f"rollouts.{i}.service", _mapping(rollout).get("service"), known)
    problems += _call_names(services)
    cycle = _cycle(graph)
    if cycle:
        problems.append(Problem(f"services.{cycle[0]}.calls",
                                "calls form a cycle: " + " -> ".join(cycle)))
    return problems
