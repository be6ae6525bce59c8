"""Tests for sim.policies.partitions.

Ported cases from apache/kafka clients/src/test/java/org/apache/kafka/clients/
consumer/RangeAssignorTest.java and consumer/internals/AbstractStickyAssignorTest.java
(single topic, no racks); the rest are the semantics-page vectors and properties.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.partitions import (
    moved_partitions,
    owners,
    range_assignment,
    sticky_assignment,
    target_sizes,
)


def sizes(assignment, order):
    return [len(assignment[c]) for c in order]


# --- range ---------------------------------------------------------------------
def test_range_ten_partitions_three_consumers_gives_4_3_3_contiguous():
    a = range_assignment(10, ["c0", "c1", "c2"])
    assert a == {"c0": [0, 1, 2, 3], "c1": [4, 5, 6], "c2": [7, 8, 9]}


def test_range_more_consumers_than_partitions_leaves_the_last_idle():
    a = range_assignment(3, ["c0", "c1", "c2", "c3", "c4"])
    assert sizes(a, ["c0", "c1", "c2", "c3", "c4"]) == [1, 1, 1, 0, 0]
    assert a["c3"] == [] and a["c4"] == []


def test_range_sorts_member_ids_as_strings():
    a = range_assignment(5, ["c2", "c10", "c1"])
    # string order: "c1" < "c10" < "c2"
    assert a == {"c1": [0, 1], "c10": [2, 3], "c2": [4]}
    assert list(a) == ["c1", "c10", "c2"]


def test_range_zero_consumers_is_empty():
    assert range_assignment(7, []) == {}


def test_range_one_consumer_one_topic_gets_everything():
    """RangeAssignorTest.testOneConsumerOneTopic."""
    assert range_assignment(3, ["consumer1"]) == {"consumer1": [0, 1, 2]}


def test_range_two_consumers_one_partition():
    """RangeAssignorTest.testTwoConsumersOneTopicOnePartition."""
    assert range_assignment(1, ["consumer2", "consumer1"]) == {"consumer1": [0], "consumer2": []}


def test_range_two_consumers_two_partitions():
    """RangeAssignorTest.testTwoConsumersOneTopicTwoPartitions."""
    assert range_assignment(2, ["consumer1", "consumer2"]) == {"consumer1": [0], "consumer2": [1]}


def test_range_rejects_duplicate_ids_and_negative_partitions():
    with pytest.raises(ValueError):
        range_assignment(3, ["a", "a"])
    with pytest.raises(ValueError):
        range_assignment(-1, ["a"])


# --- moved ---------------------------------------------------------------------
def test_moved_partitions_counts_gained_lost_and_changed_owners():
    before = {"a": [0, 1], "b": [2]}
    after = {"a": [0], "c": [1, 3]}
    # 1: a -> c; 2: b -> none; 3: none -> c
    assert moved_partitions(before, after) == {1, 2, 3}
    assert moved_partitions(before, before) == set()


def test_owners_rejects_a_partition_owned_twice():
    with pytest.raises(ValueError):
        owners({"a": [0], "b": [0]})


# --- sticky --------------------------------------------------------------------
def test_sticky_from_nothing_equals_range():
    assert sticky_assignment(10, ["c0", "c1", "c2"], {}) == range_assignment(10, ["c0", "c1", "c2"])


def test_sticky_add_then_remove_consumer():
    """AbstractStickyAssignorTest.testAddRemoveConsumerOneTopic (no racks)."""
    a1 = sticky_assignment(3, ["consumer1"], {})
    assert a1 == {"consumer1": [0, 1, 2]}
    a2 = sticky_assignment(3, ["consumer1", "consumer2"], a1)
    assert a2 == {"consumer1": [0, 1], "consumer2": [2]}
    assert moved_partitions(a1, a2) == {2}  # partitionsTransferringOwnership {tp2: consumer2}
    a3 = sticky_assignment(3, ["consumer2"], a2)
    assert a3 == {"consumer2": [0, 1, 2]}
    assert moved_partitions(a2, a3) == {0, 1}


@pytest.mark.parametrize("leaving", ["c0", "c1", "c2"])
def test_sticky_removing_one_of_three_moves_only_its_partitions(leaving):
    # Derived case (not upstream): P=12, three members with 4 each.
    before = range_assignment(12, ["c0", "c1", "c2"])
    survivors = [c for c in before if c != leaving]
    after = sticky_assignment(12, survivors, before)
    assert moved_partitions(before, after) == set(before[leaving])
    assert sizes(after, survivors) == [6, 6]
    # range moves extra partitions unless the middle member leaves
    extra = {"c0": {6, 7}, "c1": set(), "c2": {4, 5}}[leaving]
    assert moved_partitions(before, range_assignment(12, survivors)) == set(before[leaving]) | extra


def test_sticky_trims_overfull_members_keeping_lowest_partitions():
    previous = {"a": [5, 1, 3, 7], "b": []}
    after = sticky_assignment(8, ["a", "b"], previous)
    assert after == {"a": [1, 3, 5, 7], "b": [0, 2, 4, 6]}
    after = sticky_assignment(6, ["a", "b", "c"], {"a": [5, 4, 3, 2, 1, 0]})
    assert after["a"] == [0, 1]


def test_sticky_ignores_vanished_partitions_departed_owners_and_double_claims():
    previous = {"a": [0, 9], "b": [1, 2], "gone": [3], "c": [2]}
    after = sticky_assignment(4, ["a", "b", "c"], previous)
    # targets 2/1/1; a keeps 0 (9 no longer exists), b keeps 1, nobody keeps
    # the double-claimed 2; free 2, 3 go to a (below target) then c
    assert after == {"a": [0, 2], "b": [1], "c": [3]}


# --- properties ----------------------------------------------------------------
member_ids = st.lists(st.text("abc0123456789", min_size=1, max_size=4), max_size=12, unique=True)


def check_balanced(partitions, consumers, a):
    assert set(a) == set(consumers)
    all_parts = sorted(p for ps in a.values() for p in ps)
    if consumers:
        assert all_parts == list(range(partitions))
    else:
        assert a == {}
        return
    counts = [len(ps) for ps in a.values()]
    assert max(counts) - min(counts) <= 1
    idle = [c for c, ps in a.items() if not ps]
    assert bool(idle) == (len(consumers) > partitions)
    for ps in a.values():
        assert ps == sorted(ps)


@settings(max_examples=300)
@given(partitions=st.integers(0, 40), consumers=member_ids)
def test_range_properties(partitions, consumers):
    a = range_assignment(partitions, consumers)
    check_balanced(partitions, consumers, a)
    assert {c: len(ps) for c, ps in a.items()} == target_sizes(partitions, consumers)
    for ps in a.values():
        assert ps == list(range(ps[0], ps[0] + len(ps))) if ps else True


@st.composite
def reassignment(draw):
    partitions = draw(st.integers(0, 40))
    old = draw(member_ids)
    new = draw(st.lists(st.sampled_from(old), unique=True) if old else st.just([]))
    new = new + draw(st.lists(st.text("xyz", min_size=1, max_size=3), max_size=4, unique=True))
    old_partitions = draw(st.integers(0, 40))
    previous = draw(st.sampled_from([range_assignment, lambda p, c: sticky_assignment(p, c, {})]))(
        old_partitions, old)
    return partitions, new, previous


@settings(max_examples=300)
@given(case=reassignment())
def test_sticky_properties(case):
    partitions, consumers, previous = case
    a = sticky_assignment(partitions, consumers, previous)
    check_balanced(partitions, consumers, a)
    targets = target_sizes(partitions, consumers)
    for c in consumers:
        owned = [p for p in previous.get(c, []) if p < partitions]
        if len(owned) <= targets[c]:
            assert set(owned) <= set(a[c])
    # moved = exactly the partitions not kept in place
    kept = {p for c in consumers for p in a[c] if p in set(previous.get(c, []))}
    assert moved_partitions(previous, a) == (set(owners(previous)) | set(owners(a))) - kept


@settings(max_examples=200)
@given(case=reassignment())
def test_sticky_never_moves_more_than_range(case):
    partitions, consumers, previous = case
    restricted = {c: [p for p in ps if p < partitions] for c, ps in previous.items()}
    sticky = moved_partitions(restricted, sticky_assignment(partitions, consumers, restricted))
    ranged = moved_partitions(restricted, range_assignment(partitions, consumers))
    assert len(sticky) <= len(ranged)
