"""Asynchronous messaging through the engine: topics, consumer groups, KEDA.

Deterministic cases use deterministic arrivals (the k-th arrival of a step of
rate r starting at a is at a + k / r; an arrival falling on a knot belongs to
the step that ends there), constant work and no network latency, so every
expected time and message id below is derived by hand in the test's
docstring. Message ids come from one counter shared by the topics, in
publish order: with a single topic published to, the k-th message published
has id k - 1.

The statistical case (Erlang C) follows ``test_queueing.py``: R independent
replications, a one-sample t-test with ALPHA = 1e-4, a bias allowance for the
warm-up and the window edges, and a cap on the tolerance so a wide interval
cannot hide a wrong model.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim import theory
from sim.errors import ScenarioError

SEED = 20240611
ALPHA = 1e-4


def events_profile(*points) -> dict:
    """Deterministic publishes: ``points`` are ``(at_s, rate)`` steps, zero before the first."""
    return {"process": "deterministic",
            "profile": [{"at": 0, "rate": 0}] + [{"at": at, "rate": r} for at, r in points]}


def scaled(result, service: str = "c") -> list[tuple[float, str]]:
    ev = result.events
    rows = ev[(ev["kind"] == "scaled") & (ev["service"] == service)]
    return list(zip(rows["t_s"].tolist(), rows["detail"].astype(str).tolist()))


def partitions_by_pod(messages) -> dict[str, set[int]]:
    return {str(pod): set(rows["partition"].tolist())
            for pod, rows in messages.groupby("pod", observed=True)}


# ----------------------------------------------------------------------------- 1. Erlang C
def test_queue_wait_before_first_delivery_matches_erlang_c():
    """A queue fed by Poisson publishes at lambda = 22.5/s, read by c = 3 pods
    (cpu 1, workers 1, concurrency 1) with exponential work of mean 1/mu =
    0.1 s: competing consumers taking the oldest visible message whenever one
    is free, i.e. an M/M/3 FCFS queue, a = lambda / mu = 2.25, rho = 0.75.

    Theory: Erlang C(3, 2.25) = 0.5678 (share of messages that wait) and
    W_q = C s / (c - a) = 0.5678 * 0.1 / 0.75 = 0.0757 s (mean wait between
    publish and first delivery).

    Estimates per replication: ``wait_s.mean`` of the group in the summary
    (messages published after the warm-up), the mean of delivered_s -
    published_s over delivery-1 rows of the ``messages`` table (must agree
    with the summary to 1e-9: two code paths), and the share of those with a
    positive wait (PASTA: = C).

    Bias allowance as in test_queueing: relaxation time tau = s / (1 -
    sqrt(rho))^2 = 0.1 / 0.134^2 = 5.6 s, warm-up 60 s > 10 tau; edge term
    10 (L + 1) / n with L = lambda (W_q + s) = 3.95 and n = 22 500 messages.
    Sizing: measured per-replication sd of the mean wait ~0.0046 s over 1000 s;
    R = 16 gives tol ~ 5.24 * 0.0046 / 4 + bias ~ 0.0065 s (~9 % of W_q), capped
    at 15 %; P(wait) sd ~0.006, tol ~ 0.009 (~2 %), capped at 5 %. Runs ~6 s.
    """
    c, lam, s, warmup, window, reps = 3, 22.5, 0.1, 60.0, 1000.0, 16
    spec = {"name": "mmc-queue", "duration": warmup + window, "warmup": warmup,
            "sample_interval": 20.0,
            "topics": {"jobs": {"kind": "queue"}},
            "workload": {"events": {"target": "jobs", "arrivals": {"rate": lam}}},
            "services": {"worker": {"replicas": c,
                                    "pod": {"cpu": 1, "workers": 1, "scheduler": "ps",
                                            "work": {"dist": "exponential", "mean": s}},
                                    "consumes": {"topic": "jobs", "concurrency": 1}}}}
    loaded = sim.load(spec)
    waits, waited = [], []
    for rep in range(reps):
        r = sim.run(loaded, seed=SEED, replication=rep)
        group = r.summary["topics"]["jobs"]["groups"]["worker"]
        m = r.messages
        first = m[(m["delivery"] == 1) & (m["published_s"] >= warmup)]
        wait = (first["delivered_s"] - first["published_s"]).to_numpy()
        assert group["wait_s"]["mean"] == pytest.approx(wait.mean(), abs=1e-9)
        waits.append(group["wait_s"]["mean"])
        waited.append(float((wait > 1e-12).mean()))
    a = lam * s
    C = float(theory.erlang_c(c, a))
    Wq = float(theory.mmc_mean_wait_s(c, lam, s))
    assert C == pytest.approx(0.5678, abs=1e-4) and Wq == pytest.approx(0.0757, abs=1e-4)
    tau = s / (1 - math.sqrt(a / c)) ** 2
    L, n = lam * (Wq + s), lam * window
    edge = math.exp(-warmup / tau) + 10 * (L + 1) / n
    for what, per_rep, expected, max_rel in (("mean wait", waits, Wq, 0.15),
                                             ("P(wait)", waited, C, 0.05)):
        x = np.asarray(per_rep)
        se = x.std(ddof=1) / math.sqrt(len(x))
        tol = stats.t.ppf(1 - ALPHA / 2, len(x) - 1) * se + edge * expected
        assert abs(x.mean() - expected) <= tol, (what, x.mean(), expected, tol)
        assert tol <= max_rel * expected, (what, "too imprecise", tol, expected)


# ----------------------------------------------------------------------------- 2-4. Kafka groups
def test_kafka_partition_is_processed_in_publish_order_one_message_at_a_time():
    """4 partitions (keyed producer: random partition per message), 2 pods of
    concurrency 4, Poisson publishes at 40/s, exponential work of mean 20 ms,
    and an errors fault failing 30 % of the processings (each failure is
    retried in place, Spring's seek-back).

    Per partition, rows sorted by delivery time: (a) the intervals
    [delivered_s, ended_s] never overlap (one message in flight per
    partition), (b) message ids never decrease (ids grow with publish time,
    so this is publish order), (c) a repeated id is a retry of a failed
    delivery, numbered 1, 2, 3, ... in order, and (d) every message of the
    partition is acknowledged exactly once (30 % failing: a message failing
    the ten attempts has probability 0.3^10 = 6e-6, and this seed has none).
    """
    spec = {"name": "order", "duration": 60.0, "sample_interval": 5.0,
            "topics": {"orders": {"kind": "kafka", "partitions": 4, "producer": "keyed"}},
            "workload": {"events": {"target": "orders", "arrivals": {"rate": 40}}},
            "services": {"c": {"replicas": 2,
                               "pod": {"workers": 4, "cpu": 4,
                                       "work": {"dist": "exponential", "mean": 0.02}},
                               "consumes": {"topic": "orders", "concurrency": 4}}},
            "faults": [{"kind": "errors", "service": "c", "at": 0, "probability": 0.3}]}
    r = sim.run(spec, seed=3)
    m = r.messages
    summary = r.summary["topics"]["orders"]
    assert summary["redelivered"] > 100 and summary["dead_lettered"] == 0
    assert set(m["partition"]) == {0, 1, 2, 3}
    for p, rows in m.groupby("partition"):
        rows = rows.sort_values(["delivered_s", "ended_s"])
        start, end = rows["delivered_s"].to_numpy(), rows["ended_s"].to_numpy()
        ids, no = rows["message_id"].to_numpy(), rows["delivery"].to_numpy()
        ok = (rows["status"] == "ok").to_numpy()
        assert (start[1:] >= end[:-1]).all(), f"partition {p}: overlapping deliveries"
        assert (np.diff(ids) >= 0).all(), f"partition {p}: out of publish order"
        same = ids[1:] == ids[:-1]
        assert (~ok[:-1][same]).all(), "a message repeated after it succeeded"
        assert (no[1:][same] == no[:-1][same] + 1).all() and (no[1:][~same] == 1).all()
        acked = rows.loc[rows["acked"], "message_id"]
        assert not acked.duplicated().any()
        # every message of the partition that was delivered was finally acknowledged,
        # except possibly the last one still being retried at the end
        assert set(ids) - set(acked) <= {ids[-1]}


def test_consumers_beyond_the_partition_count_stay_idle():
    """3 partitions, 5 pods (members c-0#1 .. c-4#1, joined at 0 in creation
    order). Range assignment over 5 sorted members: P // C = 0, P % C = 3, so
    c-0, c-1, c-2 get partitions 0, 1, 2 and c-3, c-4 none. Deterministic
    publishes at 30/s for 20 s, round robin: 600 messages, 200 per partition,
    all processed (work 1 ms); exactly 3 pods ever receive a message, one
    partition each."""
    spec = {"name": "idle", "duration": 25.0, "sample_interval": 5.0,
            "topics": {"orders": {"kind": "kafka", "partitions": 3}},
            "workload": {"events": {"target": "orders", "arrivals": events_profile((0, 30), (20, 0))}},
            "services": {"c": {"replicas": 5, "pod": {"work": 0.001},
                               "consumes": {"topic": "orders", "concurrency": 3}}}}
    r = sim.run(spec, seed=1)
    m = r.messages
    assert len(m) == 600 and m["acked"].all()
    assert partitions_by_pod(m) == {"c-0": {0}, "c-1": {1}, "c-2": {2}}


def test_range_assignment_gives_four_three_three_partitions_over_three_pods():
    """10 partitions, 3 pods. The pods listen at 0 in creation order; each
    join rebalances (eager, pause 3 s): after c-0#1 alone it owns 0-9, after
    c-1#1 5/5, after c-2#1 the Range assignor's final answer: P // C = 3,
    P % C = 1, so the first sorted member gets 4 -- c-0: 0-3, c-1: 4-6,
    c-2: 7-9. All three rebalances are at t = 0, so the group is paused until
    3.0 and the intermediate assignments never deliver anything: every
    delivery is at >= 3 s and the partitions per pod are exactly 4, 3, 3.
    Publishes: deterministic 50/s for 20 s (1000 messages, 100 per partition);
    the 150 published before 3.0 wait, the first delivered at exactly 3.0."""
    spec = {"name": "range", "duration": 25.0, "sample_interval": 5.0,
            "topics": {"orders": {"kind": "kafka", "partitions": 10}},
            "workload": {"events": {"target": "orders", "arrivals": events_profile((0, 50), (20, 0))}},
            "services": {"c": {"replicas": 3, "pod": {"work": 0.001, "workers": 4},
                               "consumes": {"topic": "orders", "concurrency": 4}}}}
    r = sim.run(spec, seed=1)
    m = r.messages
    assert len(m) == 1000 and m["acked"].all()
    assert m["delivered_s"].min() == pytest.approx(3.0, abs=1e-9)
    assert partitions_by_pod(m) == {"c-0": {0, 1, 2, 3}, "c-1": {4, 5, 6}, "c-2": {7, 8, 9}}
    assert sorted(m.groupby("pod", observed=True).size().tolist()) == [300, 300, 400]


# ----------------------------------------------------------------------------- 5. queue visibility
def test_queue_redelivers_after_visibility_timeout_then_dead_letters():
    """One message published at t0 = 11 s (rate 1/s from 10 s to 11.5 s: one
    arrival at 10 + 1/1 = 11; the second would be at 12 > 11.5). Consumer
    ``worker`` always fails (errors fault, probability 1: a fast 500 at
    arrival), visibility_timeout 30 s, max_receive_count 3, dead letter ``dlq``
    read by ``sink`` (never fails).

    Receives at 11 (1st), 41 (2nd), 71 (3rd), each failing at once; at 101
    the message becomes visible again and its 4th receive exceeds 3: it
    moves to dlq at 101 = t0 + 90, where sink takes it at once (a moved
    message is stamped published at the move). Summary: jobs published 1,
    delivered 3, redelivered 2, failed 3, acked 0, dead_lettered 1; dlq
    published 0 (a move is not a publish) and one delivery, acked. The lag of
    jobs is 1 from 11 s until the move: sampled every second, 1 at 100 s, 0
    at 102 s; oldest age at 100 s is 100 - 11 = 89 s."""
    spec = {"name": "visibility", "duration": 120.0, "sample_interval": 1.0,
            "topics": {"jobs": {"kind": "queue", "visibility_timeout": 30, "max_receive_count": 3,
                                "dead_letter": "dlq"},
                       "dlq": {"kind": "queue"}},
            "workload": {"events": {"target": "jobs", "arrivals": events_profile((10, 1), (11.5, 0))}},
            "services": {"worker": {"pod": {"work": 0.01}, "consumes": {"topic": "jobs"}},
                         "sink": {"pod": {"work": 0.01}, "consumes": {"topic": "dlq"}}},
            "faults": [{"kind": "errors", "service": "worker", "at": 0, "probability": 1.0}]}
    r = sim.run(spec, seed=1)
    m = r.messages
    jobs = m[m["topic"] == "jobs"]
    assert jobs["message_id"].tolist() == [0, 0, 0]
    assert jobs["delivery"].tolist() == [1, 2, 3]
    assert jobs["delivered_s"].tolist() == pytest.approx([11.0, 41.0, 71.0], abs=1e-9)
    assert jobs["ended_s"].tolist() == pytest.approx([11.0, 41.0, 71.0], abs=1e-9)
    assert set(jobs["status"].astype(str)) == {"error"} and not jobs["acked"].any()
    dlq = m[m["topic"] == "dlq"]
    assert dlq["message_id"].tolist() == [0]
    assert dlq["published_s"].tolist() == pytest.approx([101.0], abs=1e-9)
    assert dlq["delivered_s"].tolist() == pytest.approx([101.0], abs=1e-9)
    assert dlq["acked"].tolist() == [True]
    t = r.summary["topics"]
    assert {k: t["jobs"][k] for k in ("published", "delivered", "redelivered", "acked",
                                      "dead_lettered")} == \
        {"published": 1, "delivered": 3, "redelivered": 2, "acked": 0, "dead_lettered": 1}
    assert t["jobs"]["groups"]["worker"]["failed"] == 3
    assert t["dlq"]["published"] == 0 and t["dlq"]["acked"] == 1
    ts = r.timeseries
    worker = ts[ts["service"] == "worker"].set_index("t_s")
    assert worker.loc[10.0, "lag"] == 0 and worker.loc[12.0, "lag"] == 1
    assert worker.loc[100.0, "lag"] == 1 and worker.loc[102.0, "lag"] == 0
    assert worker.loc[100.0, "oldest_age_s"] == pytest.approx(89.0)


def test_zero_visibility_timeout_is_refused_and_one_millisecond_runs(monkeypatch):
    """visibility_timeout 0 with a consumer that fails at once would hand the
    message out again in the same instant forever (no max_receive_count): the
    scenario refuses it at load, naming the field (found by this test as a
    hang). With 1 ms the clock moves: a 5 s run with one message finishes,
    guarded by a step budget (a receive each millisecond: ~2,500 deliveries)."""
    import simpy
    real_step = simpy.Environment.step
    steps = {"n": 0}

    def guarded(env):
        steps["n"] += 1
        if steps["n"] > 200_000:
            raise RuntimeError(f"simulation stuck at t={env.now}")
        return real_step(env)

    monkeypatch.setattr(simpy.Environment, "step", guarded)
    spec = {"name": "spin", "duration": 5.0, "sample_interval": 1.0,
            "topics": {"jobs": {"kind": "queue", "visibility_timeout": 0}},
            "workload": {"events": {"target": "jobs", "arrivals": events_profile((1, 1), (2.5, 0))}},
            "services": {"worker": {"pod": {"work": 0.01}, "consumes": {"topic": "jobs"}}},
            "faults": [{"kind": "errors", "service": "worker", "at": 0, "probability": 1.0}]}
    with pytest.raises(ScenarioError, match=r"topics\.jobs.*visibility_timeout"):
        sim.load(spec)
    spec["topics"]["jobs"]["visibility_timeout"] = "1ms"
    r = sim.run(spec, seed=1)
    assert r.summary["topics"]["jobs"]["published"] == 1
    assert r.summary["topics"]["jobs"]["redelivered"] > 1000


# ----------------------------------------------------------------------------- 6. Kafka crash
CRASH = {"name": "crash", "duration": 80.0, "sample_interval": 1.0,
         "topics": {"orders": {"kind": "kafka", "partitions": 2, "auto_commit_interval": 5,
                               "session_timeout": 10}},
         "workload": {"events": {"target": "orders",
                                 "arrivals": {"process": "deterministic", "rate": 2}}},
         "services": {"c": {"replicas": 2, "pod": {"work": 0.01, "startup": 20},
                            "consumes": {"topic": "orders"}}},
         "faults": [{"kind": "crash", "service": "c", "at": 44.2, "pods": 1}]}
"""Kafka crash scenario (derivation in the test below)."""
REDELIVERED_IDS = [80, 82, 84, 86]


def test_kafka_crash_redelivers_from_last_auto_commit_after_session_timeout():
    """Publishes every 0.5 s (k-th at k/2, id k - 1), round robin over 2
    partitions: p0 gets ids 0, 2, 4, ... published at 0.5, 1.5, 2.5, ...
    (id 2j at j + 0.5), p1 ids 1, 3, ... at 1, 2, 3, ... Pods c-0, c-1 (work
    10 ms, concurrency 1) listen after startup 20 s: joins at 20 (eager
    rebalance, pause 3 s) -> c-0#1 owns p0, c-1#1 p1 from 23.0, the backlog
    is gone in 0.46 s, then each message is processed on publish.

    Offsets are committed every 5 s (5, 10, ..., 40, 45, ...). The crash at
    44.2 kills c-0's container (nothing in flight: each message takes 10 ms);
    the commit at 40.0 covered p0 up to id 78 (published 39.5), so p0's
    position rewinds to id 80: ids 80, 82, 84, 86 (published 40.5 .. 43.5)
    were processed but not committed. The dead member keeps p0 until the
    session timeout, 44.2 + 10 = 54.2; the commits at 45 and 50 change
    nothing for p0 (position = committed). The container restarts at once
    (first crash: no back-off) but its app listens only at 44.2 + 20 = 64.2,
    after the timeout. At 54.2 the group rebalances to c-1#1 alone (p0, p1),
    paused 3 s: from 57.2 c-1 processes p0 from id 80 -- the four ids are
    delivered a second time, by c-1, at 57.20, 57.21, 57.22, 57.23, then ids
    88 .. 112 (published 44.5 .. 56.5) -- then p1's ids 109, 111, 113
    (published 55, 56, 57, held by the pause). No p0 delivery in (44.2, 57.2);
    p1 runs on c-1 until 54.2 (last: id 107 at 54.0). At 64.2 c-0#2 joins:
    Range gives c-0#2 p0 and c-1#1 p1 (sorted ids), paused until 67.2 (so id
    129 published at 65.0 waits until 67.2).

    Published in 80 s: k/2 < 80, k = 1..159. Deliveries 159 + 4."""
    r = sim.run(CRASH, seed=1)
    m = r.messages
    counts = m.groupby("message_id").size()
    assert sorted(counts[counts > 1].index) == REDELIVERED_IDS and counts.max() == 2
    assert len(m) == 163 and r.summary["topics"]["orders"]["published"] == 159
    twice = m[m["message_id"].isin(REDELIVERED_IDS)].sort_values(["message_id", "delivered_s"])
    first, second = twice.iloc[::2], twice.iloc[1::2]
    assert first["pod"].astype(str).tolist() == ["c-0"] * 4
    assert first["delivered_s"].tolist() == pytest.approx([40.5, 41.5, 42.5, 43.5], abs=1e-9)
    assert second["pod"].astype(str).tolist() == ["c-1"] * 4
    assert second["delivered_s"].tolist() == pytest.approx([57.20, 57.21, 57.22, 57.23], abs=1e-9)
    p0, p1 = m[m["partition"] == 0], m[m["partition"] == 1]
    assert not ((p0["delivered_s"] > 44.2) & (p0["delivered_s"] < 57.2 - 1e-9)).any()
    assert not ((p1["delivered_s"] > 54.2) & (p1["delivered_s"] < 57.2 - 1e-9)).any()
    assert p1.loc[(p1["delivered_s"] < 54.2), "message_id"].max() == 107
    # after c-0#2 joins at 64.2 it owns p0 again, everything paused until 67.2
    after = m[m["delivered_s"] >= 64.2]
    assert partitions_by_pod(after) == {"c-0": {0}, "c-1": {1}}
    assert after["delivered_s"].min() == pytest.approx(67.2, abs=1e-9)
    assert set(m["status"].astype(str)) == {"ok"}
    assert m["acked"].sum() == len(m) - len(REDELIVERED_IDS)   # a redelivery's success is no new ack
    restarted = r.events[r.events["kind"] == "pod_restarted"]
    assert restarted["t_s"].tolist() == [44.2]


def test_kafka_crash_redelivery_is_numbered_and_counted_as_redelivery():
    """Same run: ids 80, 82, 84, 86 are delivered twice to group c. The
    messages table documents ``delivery`` as 1 for the first delivery; the
    second delivery of a message to the group should be 2, and
    ``topics.orders.redelivered`` (rows with delivery > 1) should be 4."""
    r = sim.run(CRASH, seed=1)
    m = r.messages
    twice = m[m["message_id"].isin(REDELIVERED_IDS)].sort_values(["message_id", "delivered_s"])
    assert twice["delivery"].tolist() == [1, 2] * 4
    assert r.summary["topics"]["orders"]["redelivered"] == 4


def test_kafka_message_is_acknowledged_once_even_when_redelivered():
    """Same run: 159 messages published, all processed, four twice. Only the
    first ok delivery acknowledges a message (``acked``: "processed ok, the
    first to"), so acked rows are 159, one per message, and the summary's
    acked (acknowledgements of messages published in the window) is 159."""
    r = sim.run(CRASH, seed=1)
    m = r.messages
    assert not m.loc[m["acked"], "message_id"].duplicated().any()
    assert r.summary["topics"]["orders"]["acked"] == 159


# ----------------------------------------------------------------------------- 7. KEDA
def keda_spec(metadata: dict, profile: dict, duration: float = 450.0) -> dict:
    return {"name": "keda", "duration": duration, "sample_interval": 5.0,
            "topics": {"orders": {"kind": "kafka", "partitions": 4}},
            "workload": {"events": {"target": "orders", "arrivals": profile}},
            "services": {"c": {"replicas": 0, "pod": {"work": 0.1},
                               "consumes": {"topic": "orders"},
                               "keda": {"minReplicaCount": 0, "maxReplicaCount": 6,
                                        "pollingInterval": "30s", "cooldownPeriod": "300s",
                                        "triggers": [{"type": "kafka", "metadata": metadata}]}}}}


def test_keda_scales_from_zero_on_lag_caps_at_partitions_and_to_zero_after_cooldown():
    """4 partitions; c starts at 0 replicas; work 0.1 s, concurrency 1 (10
    msg/s per pod). Publishes at 20/s from 10.01 s to 100.01 s (1800 messages,
    at 10.06, 10.11, ..., 100.01: never on a poll or sync instant).

    - KEDA polls at 30, 60, 90, ... At 30 the lag is 399 (the arrivals at
      10.01 + k / 20 <= 30, k <= 399; nothing consumed) > 0: active, and c
      has 0 replicas: KEDA scales 0 -> 1 (``reason=keda``); the metric it
      reports is capped: 399 // 10 = 39 > 4 partitions -> 4 * 10 = 40.
    - The HPA (sync every 15 s; disabled at 0 replicas, so first at 30, after
      the poll) sees the External AverageValue 40 / target 10 -> 4 replicas
      (no ``behavior``: Kubernetes' legacy scale-up limit max(2 * 1, 4) = 4
      allows it): 1 -> 4. Never above 4 although maxReplicaCount is 6,
      because the lag metric is capped.
    - Four pods drain 40/s against 20/s published; once caught up, a message
      arrives every 0.05 s and takes 0.1 s, so two are always in flight
      (uncommitted): at 90.0 the ones published at 89.91 and 89.96. The last
      active poll is 90; publishes stop at 100.01, the last is committed at
      100.11, and at 120 and after the lag is 0.
    - Scale to 0 once last_active + cooldown < now, strictly: 90 + 300 = 390 is
      a poll but not strictly after, so the first is 420: one keda event
      ``current=1 desired=0`` at 420 (the HPA brought 4 -> 1 before, its
      5-minute scale-down window past the last recommendation of 4).
    """
    r = sim.run(keda_spec({"lagThreshold": "10"}, events_profile((10.01, 20), (100.01, 0))), seed=1)
    events = scaled(r)
    keda = [(t, d) for t, d in events if "reason=keda" in d]
    assert [t for t, _ in keda] == [30.0, 420.0]
    assert "current=0 desired=1" in keda[0][1] and "metrics=[kafka 40]" in keda[0][1]
    assert "current=1 desired=0" in keda[1][1] and "inactive" in keda[1][1]
    hpa = [(t, d) for t, d in events if "reason=keda" not in d]
    assert hpa[0][0] == 30.0 and "current=1 desired=4" in hpa[0][1]
    assert "s0-kafka-c 40" in hpa[0][1]
    assert all(t < 420.0 for t, _ in hpa)
    ts = r.timeseries
    c = ts[ts["service"] == "c"]
    assert c["desired_replicas"].max() == 4 and c["replicas"].max() == 4
    assert c["lag"].max() > 60  # uncapped, the HPA would have asked for the maximum 6
    assert (c.loc[c["t_s"] >= 425, "replicas"] == 0).all()
    assert (c.loc[(c["t_s"] >= 35) & (c["t_s"] <= 415), "replicas"] >= 1).all()
    assert r.summary["topics"]["orders"]["acked"] == 1800


def test_keda_with_idle_consumers_allowed_scales_beyond_the_partitions():
    """Same run with ``allowIdleConsumers: "true"``: the metric is the whole
    lag, 399 at 30 s -> the HPA asks ceil(399 / 10) = 40, limited to
    max(2 * 1, 4) = 4 at 30 s (reason ScaleUpLimit), then max(2 * 4, 4) = 8,
    clamped to maxReplicaCount 6, at the next sync (45 s). Pods 5 and 6 are
    idle: only 4 pods ever get a message."""
    r = sim.run(keda_spec({"lagThreshold": "10", "allowIdleConsumers": "true"},
                          events_profile((10.01, 20), (100.01, 0)), duration=120.0), seed=1)
    events = scaled(r)
    assert "metrics=[kafka 399]" in events[0][1]
    hpa = [(t, d) for t, d in events if "reason=keda" not in d]
    assert [t for t, _ in hpa[:2]] == [30.0, 45.0]
    assert "current=1 desired=4 proposed=40" in hpa[0][1]
    assert "current=4 desired=6" in hpa[1][1]
    assert r.messages["pod"].nunique() == 4


@pytest.mark.parametrize("published, scales", [(5, False), (6, True)])
def test_keda_activation_lag_threshold_is_strict(published, scales):
    """``activationLagThreshold: "5"``: active only when the lag is > 5. With
    c at 0 replicas nothing is consumed, so the lag is the number published:
    5 (rate 1/s from 10 s to 15 s: arrivals at 11 .. 15) stays inactive at
    every poll (30, 60, 90) -- no scaling at all; 6 (to 16 s) is active at 30
    and KEDA scales 0 -> 1 there."""
    r = sim.run(keda_spec({"lagThreshold": "10", "activationLagThreshold": "5"},
                          events_profile((10, 1), (10 + published, 0)), duration=100.0), seed=1)
    assert r.summary["topics"]["orders"]["published"] == published
    events = scaled(r)
    if scales:
        assert events[0][0] == 30.0 and "current=0 desired=1 reason=keda" in events[0][1]
    else:
        assert events == []
        ts = r.timeseries
        assert (ts.loc[ts["service"] == "c", "replicas"] == 0).all()


@pytest.mark.parametrize("threshold", ["0", "0.5"])
def test_keda_kafka_lag_threshold_is_validated_or_runs(threshold):
    """A lagThreshold that loads must run; otherwise ``sim.load`` reports it
    as a ScenarioError (KEDA itself rejects lagThreshold <= 0 and non-integers)."""
    spec = keda_spec({"lagThreshold": threshold}, events_profile((10, 5), (20, 0)), duration=70.0)
    try:
        loaded = sim.load(spec)
    except ScenarioError:
        return
    sim.run(loaded, seed=1)


# ----------------------------------------------------------------------------- 8. rabbitmq
@pytest.mark.parametrize("metadata, desired", [
    ({}, 2),                                       # default target 20: ceil(36 / 20) = 2
    ({"value": "10"}, 4),                          # ceil(36 / 10) = 4
    ({"queueLength": "12"}, 3),                    # legacy name: ceil(36 / 12) = 3
    ({"value": "9", "queueLength": "40"}, 4),      # value wins: ceil(36 / 9) = 4 (40 would keep 1)
])
def test_rabbitmq_trigger_scales_worker_on_ready_plus_unacked(metadata, desired):
    """Queue ``jobs``; worker (1 replica, KEDA min 1 so KEDA never goes to
    zero, max 10) processes one message at a time in exactly 1 s. 40
    messages published at 10.05, 10.10, ..., 12.00 (20/s from 10 s to 12 s).
    Deliveries at 10.05, 11.05, 12.05, 13.05, 14.05: at the HPA sync at 15.0,
    4 acked, 1 in flight (unacknowledged), 35 ready -> metric 36 (RabbitMQ's
    messages = ready + unacked). desired = ceil(36 / target), within the
    (legacy, no ``behavior``) scale-up limit max(2 * 1, 4) = 4 and outside
    the 10 % tolerance; duration 16 s, so this is the only HPA decision."""
    trigger = {"type": "rabbitmq", "metadata": {"mode": "QueueLength", **metadata}}
    spec = {"name": "rabbit", "duration": 16.0, "sample_interval": 1.0,
            "topics": {"jobs": {"kind": "queue"}},
            "workload": {"events": {"target": "jobs", "arrivals": events_profile((10, 20), (12, 0))}},
            "services": {"worker": {"replicas": 1, "pod": {"work": 1.0},
                                    "consumes": {"topic": "jobs"},
                                    "keda": {"minReplicaCount": 1, "maxReplicaCount": 10,
                                             "triggers": [trigger]}}}}
    r = sim.run(spec, seed=1)
    events = scaled(r, "worker")
    assert len(events) == 1
    t, detail = events[0]
    assert t == 15.0
    assert f"current=1 desired={desired}" in detail and "s0-rabbitmq-worker 36" in detail
    m = r.messages
    assert m["delivered_s"].head(4).tolist() == pytest.approx([10.05, 11.05, 12.05, 13.05])
