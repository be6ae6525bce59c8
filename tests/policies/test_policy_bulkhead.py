"""Bulkhead admission arithmetic (Resilience4j SemaphoreBulkhead, FixedThreadPoolBulkhead)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.bulkhead import SemaphoreBulkhead, ThreadPoolBulkhead


# ------------------------------------------------------------------ semaphore
def test_semaphore_admits_up_to_max_concurrent_calls():
    b = SemaphoreBulkhead(2)
    assert b.try_enter() and b.try_enter()
    assert b.available == 0 and not b.try_enter()
    assert b.release() is False and b.available == 1
    assert b.try_enter()


def test_semaphore_without_max_wait_callers_may_not_wait():
    b = SemaphoreBulkhead(1)
    assert not b.may_wait
    with pytest.raises(ValueError, match="max_wait_s"):
        b.start_waiting()


def test_semaphore_release_hands_the_permit_to_the_longest_waiter():
    b = SemaphoreBulkhead(1, max_wait_s=0.5)
    assert b.may_wait and b.try_enter()
    assert not b.try_enter()
    b.start_waiting()
    b.start_waiting()
    assert b.release() is True  # first waiter now holds the permit
    assert b.available == 0 and b.waiting == 1
    b.stop_waiting()  # the second one timed out
    assert b.release() is False and b.available == 1


def test_fair_semaphore_newcomer_does_not_overtake_waiters():
    b = SemaphoreBulkhead(2, max_wait_s=1.0)
    assert b.try_enter() and b.try_enter()
    b.start_waiting()
    assert b.release() is True  # the freed permit goes to the waiter...
    assert not b.try_enter()  # ...not to a caller arriving at the same moment
    assert b.release() is False and b.try_enter()


def test_unfair_semaphore_lets_a_newcomer_barge():
    b = SemaphoreBulkhead(1, max_wait_s=1.0, fair=False)
    b.start_waiting()
    assert b.try_enter()


def test_semaphore_unmatched_release_is_an_error():
    b = SemaphoreBulkhead(1)
    with pytest.raises(ValueError, match="release"):
        b.release()
    with pytest.raises(ValueError, match="stop_waiting"):
        b.stop_waiting()


@pytest.mark.parametrize("kwargs, name", [
    (dict(max_concurrent_calls=0), "max_concurrent_calls"),
    (dict(max_concurrent_calls=2.0), "max_concurrent_calls"),
    (dict(max_concurrent_calls=1, max_wait_s=-0.1), "max_wait_s"),
])
def test_semaphore_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SemaphoreBulkhead(**kwargs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["enter", "release", "wait", "give_up"]), max_size=200),
       st.integers(1, 5))
def test_semaphore_never_exceeds_its_permits(ops, size):
    b = SemaphoreBulkhead(size, max_wait_s=1.0)
    holders = waiters = 0
    for op in ops:
        if op == "enter" and b.try_enter():
            holders += 1
        elif op == "release" and holders:
            holders -= 1
            if b.release():
                holders += 1
                waiters -= 1
        elif op == "wait" and holders == size:
            b.start_waiting()
            waiters += 1
        elif op == "give_up" and waiters:
            b.stop_waiting()
            waiters -= 1
        assert 0 <= holders <= size and holders + b.available == size
        assert b.waiting == waiters


# ---------------------------------------------------------------- thread pool
def test_thread_pool_runs_then_queues_then_rejects():
    b = ThreadPoolBulkhead(core=2, queue=1)
    assert [b.try_submit() for _ in range(4)] == ["started", "started", "queued", "rejected"]
    assert (b.running, b.queued, b.remaining_queue_capacity) == (2, 1, 0)
    assert b.on_done() is True  # the freed thread takes the queued task
    assert (b.running, b.queued) == (2, 0)
    assert b.try_submit() == "queued"
    assert b.on_done() and not b.on_done()
    assert (b.running, b.queued, b.available_threads) == (1, 0, 1)
    assert b.try_submit() == "started"


def test_thread_pool_zero_queue_rejects_when_threads_are_busy():
    b = ThreadPoolBulkhead(core=1, queue=0)
    assert b.try_submit() == "started" and b.try_submit() == "rejected"


def test_thread_pool_extra_threads_start_only_when_the_queue_is_full():
    # java.util.concurrent.ThreadPoolExecutor: core threads, then the queue, then up to max.
    b = ThreadPoolBulkhead(core=1, queue=2, max_threads=2)
    assert [b.try_submit() for _ in range(5)] == ["started", "queued", "queued", "started",
                                                   "rejected"]


def test_thread_pool_unmatched_done_is_an_error():
    with pytest.raises(ValueError, match="on_done"):
        ThreadPoolBulkhead(core=1, queue=1).on_done()


@pytest.mark.parametrize("kwargs, name", [
    (dict(core=0, queue=1), "core"), (dict(core=1, queue=-1), "queue"),
    (dict(core=2, queue=1, max_threads=1), "max_threads"),
])
def test_thread_pool_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ThreadPoolBulkhead(**kwargs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=200), st.integers(1, 4), st.integers(0, 4))
def test_thread_pool_bounds(ops, core, queue):
    b = ThreadPoolBulkhead(core=core, queue=queue)
    for submit in ops:
        if submit:
            outcome = b.try_submit()
            assert outcome != "rejected" or (b.running == core and b.queued == queue)
        elif b.running:
            b.on_done()
        assert 0 <= b.running <= core and 0 <= b.queued <= queue
        assert b.queued == 0 or b.running == core
