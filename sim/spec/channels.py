"""In-process channels of a Go service (the seed's event bus, section 2.3).

Per pod, a buffered channel (``make(chan Event, capacity)``) that a
dispatcher goroutine fans out to every subscriber's own buffered channel
(pub/sub: each subscriber gets each event), each drained by ``consumers``
goroutines that run the subscriber's work, io and calls on the pod's CPU
(outside the worker pool). A program step ``{publish: CHANNEL}`` sends to the
pod's channel: when it is full the request blocks until there is room (Go's
``ch <- e``) or the event is dropped (``select`` with ``default``), per
``on_full``. A container that dies loses what its channels held.
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from .base import Spec
from .distributions import Dist, constant
from .policy import CallStep


class SubscriberSpec(Spec):
    """One subscriber: its channel, its goroutines and what each event costs."""

    capacity: int = Field(10, ge=0, le=1_000_000)
    consumers: int = Field(1, ge=1, le=10_000)
    work: Dist = constant(0.0)
    io: Dist = constant(0.0)
    calls: list[CallStep] = Field(default_factory=list)


class ChannelSpec(Spec):
    """A publisher channel fanned out to its subscribers."""

    capacity: int = Field(100, ge=0, le=1_000_000)
    on_full: Literal["block", "drop"] = "block"
    subscribers: dict[str, SubscriberSpec] = Field(min_length=1)

    @field_validator("subscribers")
    @classmethod
    def _names(cls, subscribers: dict) -> dict:
        import re
        bad = [n for n in subscribers if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", n)]
        if bad:
            raise ValueError(f"subscriber names must be letters, digits, '-' or '_' (bad: {bad})")
        return subscribers


ChannelsSpec = Optional[dict[str, ChannelSpec]]
