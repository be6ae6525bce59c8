"""Bad input in the messaging blocks of issue 13: topics, ``publish``,
``consumes``, ``keda`` and in-process ``channels``.

Each case mutates the shipped ``models/order-events.yaml`` (which uses every
one of them), runs ``podsim check`` in process and asserts exit 2 with a
problem line naming the field's path and saying something specific; a union
member's tag (``topic:kafka``) never shows in a path, nothing is reported at
the top level, and a wrong kind does not cascade into other problems.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest
import yaml

from scenario_helpers import check_variant, problem_lines

MODEL = yaml.safe_load((Path(__file__).resolve().parents[1] / "models" / "order-events.yaml").read_text())


def check(tmp_path, capsys, mutate: Callable[[dict], object]) -> tuple[int, str]:
    return check_variant(tmp_path, capsys, MODEL, mutate)


def problems(output: str) -> list[tuple[str, str]]:
    return problem_lines(output)


def svc(raw, name):
    return raw["services"][name]


def trigger(raw):
    return svc(raw, "inventory")["keda"]["triggers"][0]


VALID = [
    ("model", lambda raw: None),
    ("queue-with-dead-letter", lambda raw: raw["topics"].update(
        jobs={"kind": "queue", "visibility_timeout": "10s", "max_receive_count": 3, "dead_letter": "dlq"},
        dlq={"kind": "queue"})),
    ("event-source-workload", lambda raw: raw["workload"].update(feed={"target": "orders",
                                                                      "arrivals": {"rate": 5}})),
    ("metadata-numbers", lambda raw: trigger(raw)["metadata"].update(lagThreshold=15,
                                                                     allowIdleConsumers="true")),
    ("unbuffered-channel", lambda raw: svc(raw, "api")["channels"]["audit"].update(capacity=0)),
]


@pytest.mark.parametrize("mutate", [m for _, m in VALID], ids=[i for i, _ in VALID])
def test_a_valid_variant_checks(tmp_path, capsys, mutate):
    code, output = check(tmp_path, capsys, mutate)
    assert code == 0, output


CASES = [
    ("topic-kind-typo", lambda raw: raw["topics"]["orders"].update(kind="kafak"),
     "topics.orders", r"unknown topic kind 'kafak'; expected one of kafka, queue"),
    ("partitions-zero", lambda raw: raw["topics"]["orders"].update(partitions=0),
     "topics.orders.partitions", r"must be >= 1"),
    ("visibility-zero", lambda raw: raw["topics"].update(jobs={"kind": "queue", "visibility_timeout": 0}),
     "topics.jobs.visibility_timeout", r"must be >= 0.001"),
    ("dead-letter-not-a-queue", lambda raw: raw["topics"].update(jobs={"kind": "queue",
                                                                      "dead_letter": "orders"}),
     "topics.jobs.dead_letter", r"'orders' is not a queue topic"),
    ("dead-letter-unknown", lambda raw: raw["topics"].update(jobs={"kind": "queue", "dead_letter": "dql"}),
     "topics.jobs.dead_letter", r"no queue topic named 'dql'"),
    ("dead-letter-itself", lambda raw: raw["topics"].update(jobs={"kind": "queue", "dead_letter": "jobs"}),
     "topics.jobs.dead_letter", r"cannot be its own dead-letter queue"),
    ("topic-named-like-a-service", lambda raw: raw["topics"].update(api={"kind": "queue"}),
     "topics", r"a topic may not share a name with a service or workload or external: 'api'"),
    ("publish-typo", lambda raw: svc(raw, "api")["calls"][0].update(publish="order"),
     "services.api.calls.0.publish", r"no topic or channel of this service named 'order'; did you mean 'orders'"),
    ("to-a-topic", lambda raw: svc(raw, "api")["calls"].append({"to": "orders"}),
     "services.api.calls.2.to", r"'orders' is a topic: write publish: orders"),
    ("to-and-publish", lambda raw: svc(raw, "api")["calls"][0].update(to="inventory"),
     "services.api.calls.0", r"give either to .* or publish"),
    ("consumes-typo", lambda raw: svc(raw, "inventory")["consumes"].update(topic="ordres"),
     "services.inventory.consumes.topic", r"no topic named 'ordres'; did you mean 'orders'"),
    ("two-services-one-group", lambda raw: svc(raw, "notifier")["consumes"].update(group="inventory"),
     "services.notifier.consumes.group", r"already consumes 'orders' as group 'inventory'"),
    ("concurrency-zero", lambda raw: svc(raw, "inventory")["consumes"].update(concurrency=0),
     "services.inventory.consumes.concurrency", r"must be >= 1"),
    ("keda-without-consumes", lambda raw: svc(raw, "inventory").pop("consumes"),
     "services.inventory", r"keda scales a consumer: add consumes"),
    ("keda-and-hpa", lambda raw: svc(raw, "inventory").update(hpa={"maxReplicas": 3}),
     "services.inventory", r"give hpa or keda, not both"),
    ("keda-key-typo", lambda raw: svc(raw, "inventory")["keda"].update(minReplicas=0),
     "services.inventory.keda.minReplicas", r"did you mean 'minReplicaCount'"),
    ("keda-max-below-min", lambda raw: svc(raw, "inventory")["keda"].update(minReplicaCount=5,
                                                                             maxReplicaCount=2),
     "services.inventory.keda.maxReplicaCount", r"must be >= minReplicaCount \(5\)"),
    ("trigger-type-typo", lambda raw: trigger(raw).update(type="kafk"),
     "services.inventory.keda.triggers.0", r"unknown trigger type 'kafk'; expected one of kafka, rabbitmq"),
    ("trigger-for-the-wrong-topic", lambda raw: trigger(raw).update(type="rabbitmq", metadata={}),
     "services.inventory.keda.triggers.0.type", r"a rabbitmq trigger needs a queue topic"),
    ("lag-threshold-word", lambda raw: trigger(raw)["metadata"].update(lagThreshold="ten"),
     "services.inventory.keda.triggers.0.metadata.lagThreshold", r"must be a number"),
    ("lag-threshold-zero", lambda raw: trigger(raw)["metadata"].update(lagThreshold="0"),
     "services.inventory.keda.triggers.0.metadata.lagThreshold", r"must be > 0"),
    ("lag-threshold-fraction", lambda raw: trigger(raw)["metadata"].update(lagThreshold="2.5"),
     "services.inventory.keda.triggers.0.metadata.lagThreshold", r"whole number"),
    ("channel-on-full-typo", lambda raw: svc(raw, "api")["channels"]["audit"].update(on_full="wait"),
     "services.api.channels.audit.on_full", r"must be one of 'block' or 'drop'"),
    ("channel-without-subscribers", lambda raw: svc(raw, "api")["channels"]["audit"].update(subscribers={}),
     "services.api.channels.audit.subscribers", r"at least 1 item"),
    ("channel-consumers-zero", lambda raw: svc(raw, "api")["channels"]["audit"]["subscribers"]["log"]
     .update(consumers=0),
     "services.api.channels.audit.subscribers.log.consumers", r"must be >= 1"),
    ("channel-named-like-a-topic", lambda raw: svc(raw, "api")["channels"].update(orders={
        "subscribers": {"x": {}}}),
     "services.api.channels", r"may not share a topic's name: 'orders'"),
]


@pytest.mark.parametrize("mutate, where, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named_and_explained(tmp_path, capsys, mutate, where, pattern):
    code, output = check(tmp_path, capsys, mutate)
    assert code == 2, output
    found = problems(output)
    assert found, output
    assert not any(":" in path.split(".")[-1] or "(top level)" in path for path, _ in found), output
    assert any(path == where and re.search(pattern, message) for path, message in found), \
        f"no problem at {where} matching {pattern!r}:\n{output}"
    assert len(found) == 1, f"one mistake, one problem:\n{output}"
