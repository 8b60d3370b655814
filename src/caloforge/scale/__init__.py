"""Sharded generation and simulation on Dask (extra ``dask``): ``--dask local|ADDRESS``.

A run is cut into shards of whole chunks, the chunks a sequential run makes, seeded by their
index, so the rows equal the sequential file's. Each shard is one file written atomically in
``OUT.shards/``; ``OUT`` is an HDF5 file of virtual datasets over them (``caloforge evaluate``
and ``info`` read it as one file) or, with ``merge``, one plain file. A failed task is
retried, a lost worker's task rescheduled, and the same command completes an interrupted run.

Modules: :mod:`~caloforge.scale.shards` (plan, files, virtual datasets, merge),
:mod:`~caloforge.scale.cluster` (clients, the task loop), :mod:`~caloforge.scale.tasks`
(what a worker runs), :mod:`~caloforge.scale.jobs` (the commands). Docs: ``docs/scale.md``.

Example:
    >>> from caloforge.scale import plan_shards
    >>> [s.rows for s in plan_shards(5000, 1000, 2)]
    [(0, 2000), (2000, 5000)]
"""

from caloforge._lazy import lazy_exports

__all__ = ["ShardJob", "ShardedResult", "generate_job", "generate_sharded", "merge_files",
           "open_client", "plan_shards", "run_job", "shards_dir", "simulate_job",
           "simulate_sharded"]

__getattr__ = lazy_exports(__name__, {
    "ShardJob": ".jobs",
    "ShardedResult": ".jobs",
    "generate_job": ".jobs",
    "generate_sharded": ".jobs",
    "run_job": ".jobs",
    "simulate_job": ".jobs",
    "simulate_sharded": ".jobs",
    "merge_files": ".shards",
    "plan_shards": ".shards",
    "shards_dir": ".shards",
    "open_client": ".cluster",
})
