"""The local engine: runs a DAG file's tasks with Airflow's semantics, without Airflow (see docs/ENGINE.md).

Modules: ``forkserver`` (the warm parent that forks one isolated worker process per try), ``protocol``
(length-prefixed JSON messages and the worker events), ``procs`` (process-group and child-process
helpers), the DagRun state machine (``dagrun_*``), ``trigger_rules`` and ``retries``. Importing this
package imports nothing else, so the fork server can be started before the engine loads SQLAlchemy.
"""
