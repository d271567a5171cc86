"""The runtime: the three tiers wired into one loop that answers stimuli, and what serves it.

The loop is ``TriuneRuntime`` (``emily.runtime.loop``). For each stimulus the nervous system
gates it and picks a route, the instinct tier's reflex memory answers in microseconds, and on a
miss the stimulus is offered to cognition, which proposes causal hypotheses on a worker thread so
the answer never waits for it. Answers are written to episodic memory in batches, published on
the bus and counted as Prometheus metrics; labelled stimuli teach new reflexes in the background.
``build_runtime`` (``emily.runtime.builder``) is the composition root: it builds all of this from
the settings, on the embedded engines unless a server is configured. ``emily run`` drives the
loop from a file, standard input or the demo; ``emily serve`` puts it behind an HTTP API.

The modules, by what they are for:

* the loop and its helpers off the reflex path: ``loop``, ``cognition_worker`` and ``structure``
  (hypotheses for a window of stimuli), ``teacher`` (reflexes learned from labels), ``journal``
  (episodes), ``bus`` (Zenoh, with an in-process fallback), ``metrics``;
* stimuli in: ``stimuli`` (JSON lines, CSV, standard input, the demo), ``timeline`` (a replay
  runs on its own time line), ``validate_input`` (a bad line stops the run or is skipped);
* one schema per home for ``emily learn``, ``eval`` and ``run``: ``schema_store``,
  ``reflex_models``, ``evaluation``, ``answers`` (``--out``);
* which cognition model is served: ``champion`` (the registry's champion or a flag's variant),
  ``rollout_serving`` (canary, shadow and A/B rollouts started from the CLI);
* what a person sees: ``display`` (``emily run``'s terminal view), ``emily.runtime.api`` (the
  HTTP API, alert-driven remediation and the offline ``/docs`` and ``/redoc``),
  ``emily.runtime.console`` (the live browser console at ``/``) and ``dashboard`` (the generated
  Grafana dashboard).
"""
