"""Asynchronous messaging: topics on a broker, their consumers, and KEDA.

A topic (``topics.NAME``) is either a Kafka topic (partitions, consumer
groups, in-order processing per partition, offsets committed after
processing) or a queue (SQS/RabbitMQ-like: competing consumers, visibility
timeout, redelivery and a dead-letter queue). Services publish to it with a
``publish`` call; a workload targeting it is an event source. A consumer
service declares ``consumes``; each message then runs through its pods like
a request. ``keda`` scales a consumer service on its lag, with KEDA's field
names verbatim (``ScaledObject.spec``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator

from .base import Duration, NonNegDuration, PosDuration, Spec
from .distributions import Dist, constant
from .hpa import HPABehavior
from .policy import type_tag


class KafkaTopicSpec(Spec):
    """A Kafka topic (Apache Kafka's consumer and producer defaults).

    ``producer``: ``round_robin`` spreads messages over the partitions in
    turn; ``keyed`` hashes a random key per message (each partition equally
    likely, order kept per key). ``rebalance``: ``eager`` pauses the whole
    group for ``rebalance_pause`` when a member joins or leaves; ``cooperative``
    (CooperativeStickyAssignor) pauses only the partitions that move. A
    member that crashes keeps its partitions until ``session_timeout``; the
    messages after its last commit are then delivered again. Offsets are
    committed after each message, or every ``auto_commit_interval``.
    ``capacity``: messages the topic may hold unconsumed by its slowest
    group; a publish beyond it is refused (``rejected``, ``resource_exhausted``).
    """

    kind: Literal["kafka"]
    partitions: int = Field(1, ge=1, le=10_000)
    producer: Literal["round_robin", "keyed"] = "round_robin"
    rebalance: Literal["eager", "cooperative"] = "eager"
    rebalance_pause: NonNegDuration = 3.0
    session_timeout: Annotated[Duration, Field(ge=1.0, le=3600.0)] = 45.0
    auto_commit_interval: Optional[PosDuration] = None
    capacity: Optional[int] = Field(None, ge=1)


class QueueTopicSpec(Spec):
    """A queue (Amazon SQS semantics; RabbitMQ behaves alike with acks).

    Consumers compete: each message goes to one of them. A received message
    is invisible for ``visibility_timeout`` (at least 1 ms here: SQS allows 0,
    but a consumer failing at once would then be handed the message again in
    the same instant forever); if it is not acknowledged
    (processed ok) by then it becomes visible again. A message received more
    than ``max_receive_count`` times moves to the ``dead_letter`` queue (or is
    dropped, reason ``dead_letter``, without one). ``delay``: each message
    becomes visible this long after it is published.
    """

    kind: Literal["queue"]
    visibility_timeout: Annotated[Duration, Field(ge=0.001, le=43_200.0)] = 30.0
    max_receive_count: Optional[int] = Field(None, ge=1, le=1000)
    dead_letter: Optional[str] = None
    delay: Dist = constant(0.0)
    capacity: Optional[int] = Field(None, ge=1)


def _kind(value: Any) -> Optional[str]:  # named for pydantic's "missing its 'kind' key"
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return f"topic:{kind}" if isinstance(kind, str) else None


TopicSpec = Annotated[
    Union[Annotated[KafkaTopicSpec, Tag("topic:kafka")], Annotated[QueueTopicSpec, Tag("topic:queue")]],
    Discriminator(_kind),
]


class ConsumesSpec(Spec):
    """What a consumer service reads: ``topic``, as member of ``group``
    (default: the service's name), with up to ``concurrency`` messages in
    flight per pod (for Kafka, at most one per partition: order is kept)."""

    topic: str
    group: Optional[str] = None
    concurrency: int = Field(1, ge=1, le=10_000)


def _metadata_number(value: Any) -> Any:
    """KEDA's metadata values are strings (``lagThreshold: "10"``): accept both."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


MetaNumber = Annotated[float, BeforeValidator(_metadata_number), Field(ge=0)]


def _metadata_bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class KafkaTriggerMetadata(Spec):
    """``triggers[].metadata`` of a ``kafka`` trigger (kafka_scaler.go); the
    topic and group are the service's ``consumes``."""

    lagThreshold: MetaNumber = 10.0
    activationLagThreshold: MetaNumber = 0.0

    @field_validator("lagThreshold", "activationLagThreshold")
    @classmethod
    def _whole(cls, value: float, info) -> float:
        # kafka_scaler.go parses both with strconv.ParseInt and rejects lagThreshold <= 0
        if value != int(value):
            raise ValueError("must be a whole number of messages (KEDA parses it as an integer)")
        if info.field_name == "lagThreshold" and value <= 0:
            raise ValueError("must be > 0 (KEDA rejects 0 and less)")
        return value
    allowIdleConsumers: Annotated[bool, BeforeValidator(_metadata_bool)] = False
    # accepted so a ScaledObject pastes in; the scaler reads the service's ``consumes``
    bootstrapServers: Optional[str] = None
    consumerGroup: Optional[str] = None
    topic: Optional[str] = None


class QueueTriggerMetadata(Spec):
    """``triggers[].metadata`` of a ``rabbitmq`` trigger (rabbitmq_scaler.go):
    messages in the queue (ready + unacknowledged) per replica."""

    mode: Literal["QueueLength"] = "QueueLength"
    value: Optional[MetaNumber] = None
    queueLength: Optional[MetaNumber] = None
    activationValue: MetaNumber = 0.0
    excludeUnacknowledged: Annotated[bool, BeforeValidator(_metadata_bool)] = False
    queueName: Optional[str] = None
    host: Optional[str] = None

    @field_validator("value", "queueLength")
    @classmethod
    def _positive(cls, value: Optional[float]) -> Optional[float]:
        if value is not None and value <= 0:
            raise ValueError("must be > 0 (messages per replica)")
        return value

    @property
    def target(self) -> float:
        """Messages per replica: ``value`` (or the legacy ``queueLength``), default 20."""
        if self.value is not None:
            return self.value
        return self.queueLength if self.queueLength is not None else 20.0


class KafkaTrigger(Spec):
    type: Literal["kafka"]
    metadata: KafkaTriggerMetadata = KafkaTriggerMetadata()


class QueueTrigger(Spec):
    type: Literal["rabbitmq"]
    metadata: QueueTriggerMetadata = QueueTriggerMetadata()


TriggerSpec = Annotated[
    Union[Annotated[KafkaTrigger, Tag("trigger:kafka")], Annotated[QueueTrigger, Tag("trigger:rabbitmq")]],
    Discriminator(type_tag("trigger:", None)),
]


class HorizontalPodAutoscalerConfig(Spec):
    behavior: Optional[HPABehavior] = None


class AdvancedSpec(Spec):
    horizontalPodAutoscalerConfig: HorizontalPodAutoscalerConfig = HorizontalPodAutoscalerConfig()


class KedaSpec(Spec):
    """A KEDA ScaledObject's ``spec`` for a consumer service (KEDA's names and
    defaults). KEDA itself scales between 0 and 1 every ``pollingInterval``
    (to 0 only after ``cooldownPeriod`` without activity); an HPA with an
    External AverageValue metric per trigger scales 1..``maxReplicaCount``."""

    minReplicaCount: int = Field(0, ge=0)
    maxReplicaCount: int = Field(100, ge=1)
    pollingInterval: Annotated[Duration, Field(ge=1.0)] = 30.0
    cooldownPeriod: NonNegDuration = 300.0
    initialCooldownPeriod: NonNegDuration = 0.0
    triggers: list[TriggerSpec] = Field(min_length=1)
    advanced: AdvancedSpec = AdvancedSpec()
    scaleTargetRef: Optional[dict] = None  # accepted so a ScaledObject pastes in

    @field_validator("maxReplicaCount")
    @classmethod
    def _max_above_min(cls, value: int, info) -> int:
        low = info.data.get("minReplicaCount")
        if low is not None and value < low:
            raise ValueError(f"must be >= minReplicaCount ({low})")
        return value
