"""The recorder's rules and the engine's vocabulary.

- An attempt's row in the calls table is written once, when the second of its
  two sides closes, whichever that is; closing a side twice does nothing.
- Events have kinds from one named set; a ``scaled`` event names its direction.
- The clock schedules at absolute times exactly and cancels alarms one way.
"""
from __future__ import annotations

import math

import pytest
import simpy

from sim.engine.clock import Clock
from sim.record.logs import CallLog, EventLog
from sim.status import (CODE_OK, EVENT_KINDS, NO_POD, OK, SCALE_DOWN, SCALE_UP, SCALED, TIMEOUT,
                        scaled_detail, scaled_direction)


class _Site:
    caller_index, service_index = 3, 5


class _Call:
    site = _Site()
    request_id = 42
    endpoint = -1


class _Attempt:
    """The fields the calls log reads from an attempt."""

    def __init__(self):
        self.call, self.no, self.pod = _Call(), 1, None
        self.sent_s, self.arrived_s, self.started_s, self.done_s, self.ended_s = 1.0, 1.5, 2.0, 3.0, math.nan
        self.status, self.reason, self.code = OK, 0, -1
        self.caller_closed = self.server_closed = False


def _rows(log: CallLog) -> list[dict]:
    table = log.to_numpy()
    return [{k: table[k][i].item() for k in table} for i in range(len(log))]


def test_the_row_is_written_when_the_caller_closes_after_the_server():
    log, att = CallLog(), _Attempt()
    log.opened(att)
    log.close_server(att)
    assert len(log) == 0
    log.close_caller(att, 4.0)
    assert _rows(log) == [{"request_id": 42, "caller": 3, "service": 5, "attempt": 1, "pod": NO_POD,
                           "sent_s": 1.0, "arrived_s": 1.5, "started_s": 2.0, "done_s": 3.0,
                           "ended_s": 4.0, "status": OK, "reason": 0, "endpoint": -1,
                           "code": CODE_OK}]
    assert log.flush_open() == 0


def test_the_row_is_written_when_the_server_closes_after_the_caller_gave_up():
    log, att = CallLog(), _Attempt()
    log.opened(att)
    att.status = TIMEOUT
    log.close_caller(att, 2.5)
    assert len(log) == 0
    log.close_server(att)
    (row,) = _rows(log)
    assert (row["status"], row["ended_s"]) == (TIMEOUT, 2.5)


def test_closing_a_side_twice_writes_nothing_more_and_keeps_the_first_end():
    log, att = CallLog(), _Attempt()
    log.opened(att)
    log.close_server(att)
    log.close_caller(att, 4.0)
    log.close_caller(att, 9.0)
    log.close_server(att)
    log.close_unsent(att, 9.0)
    assert [r["ended_s"] for r in _rows(log)] == [4.0]


def test_an_unsent_attempt_closes_both_sides_at_once():
    log, att = CallLog(), _Attempt()
    log.opened(att)
    log.close_unsent(att, 1.25)
    assert att.caller_closed and att.server_closed
    assert [r["ended_s"] for r in _rows(log)] == [1.25]
    assert log.flush_open() == 0


def test_event_kinds_come_from_the_named_set():
    events = EventLog()
    for kind in sorted(EVENT_KINDS):
        events.append(0.0, 0, NO_POD, kind)
    assert len(events) == len(EVENT_KINDS)
    with pytest.raises(ValueError, match="unknown event kind 'pod_exploded'"):
        events.append(0.0, 0, NO_POD, "pod_exploded")


def test_a_scaled_event_names_its_direction_at_the_head_of_its_detail():
    detail = scaled_detail(SCALE_UP, "current=3 desired=4")
    assert SCALED in EVENT_KINDS
    assert detail == "direction=up current=3 desired=4"
    assert scaled_direction(detail) == SCALE_UP
    assert scaled_direction(scaled_detail(SCALE_DOWN, "current=4 desired=3")) == SCALE_DOWN
    with pytest.raises(ValueError):
        scaled_detail("sideways", "")
    with pytest.raises(ValueError):
        scaled_direction("current=3 direction=up")


class _Event:
    _ok = True

    def __init__(self, log: list, env):
        self.callbacks = (lambda ev: log.append(env.now),)


def test_event_at_fires_at_the_exact_absolute_time():
    env = simpy.Environment()
    clock, fired = Clock(env), []
    now_s, later_s = 2944.1552286988594, 7160.431707255843
    assert now_s + (later_s - now_s) != later_s  # what a relative delay would have scheduled
    times = [now_s, later_s]
    clock.call_in(now_s, lambda _: clock.event_at(later_s, _Event(fired, env)))
    clock.event_at(now_s, _Event(fired, env))
    env.run()
    assert fired == times


def test_a_cancelled_alarm_never_runs_and_others_do():
    env = simpy.Environment()
    clock, ran = Clock(env), []
    keep = clock.call_in(1.0, ran.append, "kept")
    drop = clock.call_in(0.5, ran.append, "dropped")
    raw = clock.alarm_in(0.7, lambda alarm: ran.append("raw"))
    drop.cancel()
    raw.cancel()
    raw.cancel()  # twice is harmless
    env.run()
    assert ran == ["kept"] and keep.at == 1.0
