"""Research operations: everything around the model that makes it safe to change and to run.

One subpackage per job, each usable from the CLI and from code:

* `emily.ops.tracking` records every training run in MLflow (SQLite under ``EMILY_HOME``
  by default); `emily.ops.registry` keeps model versions with validated model cards,
  aliases such as ``champion`` and an audit ledger.
* `emily.ops.rollout` puts a new model in front of traffic safely: shadow mode, A/B tests,
  canaries and blue-green switches, with state that survives a restart.
* `emily.ops.flags` serves feature flags through OpenFeature from ``EMILY_HOME/flags.yaml``
  (`emily flags` and the HTTP API's `PUT /flags` change them).
* `emily.ops.features` is the Feast feature store, run in its own environment;
  `emily.ops.lineage` the DVC pipeline ``prepare -> train -> evaluate``.
* `emily.ops.backup` makes verified restic backups of the whole home and restores them;
  `emily.ops.doctor` checks a machine and says how to fix what is missing;
  `emily.ops.knowledge` answers ``emily ask`` from these docs and prints ``emily report``.
"""
