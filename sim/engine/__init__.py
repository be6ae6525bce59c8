"""The simulated cluster: SimPy entities driven by plain callbacks.

One request, from its arrival to its record (the hot path; every step is a
callback on SimPy's event queue, scheduled through :mod:`.clock`):

1. **Arrival** — :meth:`.workload.OpenLoop._arrive` fires at a time drawn in
   advance by :func:`.arrivals.arrival_times` (or a user of
   :class:`.workload.ClosedLoop` wakes from its think time). It registers the
   request (:meth:`sim.record.logs.RequestLog.arrive`) and starts a logical
   call on the workload's :class:`.caller.CallSite`: a plain
   :class:`.caller.Call`, or a :class:`.resilience.ResilientCall` when the
   client has a call policy. A call to a service with endpoints carries the
   endpoint its site names or draws by share (``call.endpoint``).
2. **Call policy** — :meth:`.resilience.ResilientCall._try` admits an attempt
   through the adaptive throttle, the circuit breaker and the bulkhead
   (:mod:`.bulkhead`), each from the caller's :class:`.clients.Clients`;
   :meth:`~.resilience.ResilientCall._send` arms the attempt's timeout in the
   site's :class:`.clock.DeadlineQueue`. The attempt (:class:`.messages.Attempt`)
   is registered open in the calls log.
3. **Network** — :meth:`.caller.CallSite.send` (or, for a resilient call,
   :meth:`~.caller.CallSite.transmit`) carries the attempt one hop
   (the edge's latency plus any injected by :mod:`.faults`).
4. **Load balancer** — :meth:`.service.Service.receive` draws the request's
   CPU work (its endpoint's, if any, with the endpoint's program) and routes
   it over the Ready, non-ejected pods with the service's load balancer
   (:mod:`sim.policies.load_balancer`); no endpoint: rejected at once. An
   external dependency (:class:`.external.External`) instead answers after
   its response time, or refuses beyond its limits.
5. **Pod pool** — :meth:`.pod.Pod.accept`: a gate may answer first (app not
   listening yet, fault injection, see :meth:`.replicaset.ReplicaSet.update_gate`);
   then a free worker starts it, or it waits in the pod's FIFO queue
   (:meth:`.service.Service.admit_from_queue` drops cancelled, expired or
   shed work when it reaches the head), or the queue is full: rejected.
6. **Program steps** — :meth:`.program.Program.start` runs the service's
   steps (built by :mod:`.plans`: middleware before ``next()``, the
   handler, after-work, a baseline error, middleware after-parts):
   :func:`.program.cpu_step` computes on the pod's CPU
   (:mod:`.cpu`: Go's scheduler or processor sharing, with CFS limits),
   :func:`.program.io_step` holds the worker, and
   :func:`.program.call_step` / :func:`.program.parallel_step` make
   downstream calls, which go round this same path from step 2; their
   results come back to :meth:`.messages.Attempt.child_done`.
7. **Response** — :meth:`.pod.Pod.finish` frees the worker and calls
   :meth:`.caller.Call.respond` (:meth:`.resilience.ResilientCall.respond`
   for a resilient call), which closes the attempt's server side and
   sends the answer back over the network (:meth:`.caller.CallSite.reply`).
8. **Caller's outcome** — :meth:`.resilience.ResilientCall.on_reply` (or
   :meth:`.caller.Call.on_reply`) closes the caller's side and tells the
   policies how it went; a failure may be retried after a backoff
   (:meth:`~.resilience.ResilientCall._after_failure`); a timeout
   (:meth:`~.resilience.ResilientCall._on_timeout`) closes the caller's side
   first, and the server's late answer is recorded as ``abandoned``.
9. **Record** — the calls log writes an attempt's row once both of its sides
   have closed (:class:`sim.record.logs.CallLog`); when the logical call
   ends, the workload's ``child_done`` writes the request's end
   (:meth:`sim.record.logs.RequestLog.end`).

Messages take a parallel path: a ``publish`` step is a call to a topic
(:mod:`.topics`), which appends and answers at once; the topic hands each
message to a consumer pod with room (:mod:`.consumer`), where it runs from
step 5 like a request, its end acknowledging it or not. A ``publish`` to an
in-process channel (:mod:`.channels`) instead fans out inside the pod to
goroutines that run on its CPU outside the worker pool.

Off the request path, generator processes run the slow control loops: the
metrics server, the HPA and KEDA (:mod:`.metrics`, :mod:`.hpa`, :mod:`.keda`), probes
(:mod:`.prober`) and the pods' lifecycle (:mod:`.replicaset`), rolling
updates (:mod:`.rollout`), nodes and the cluster autoscaler (:mod:`.cluster`),
fault windows (:mod:`.faults`) and the time series (:mod:`.timeseries`).
:class:`.model.Model` builds all of it from a scenario and runs it. Statuses,
reasons and event kinds are named in :mod:`sim.status`.
"""
