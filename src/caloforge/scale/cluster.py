"""Dask: a client for ``local`` (a LocalCluster of processes) or a scheduler address, and the
loop that runs shard tasks on it with retries.

A task that raises is retried (``retries``); a task whose worker dies (killed, out of memory)
is rescheduled by the scheduler on another worker (up to its ``allowed-failures``). Shard
tasks are idempotent, so a rerun never duplicates rows.

Example (starts two processes; a few seconds)::

    with open_client("local", workers=2) as client:
        print(client.scheduler_info()["workers"].keys())
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from caloforge.errors import CaloforgeError, InputError

if TYPE_CHECKING:
    from distributed import Client

    from caloforge.scale.shards import ShardSpec

__all__ = ["CONNECT_TIMEOUT_S", "DEFAULT_RETRIES", "INSTALL_HINT", "LOCAL", "cpu_count",
           "open_client", "require_dask", "run_shards"]

#: The ``--dask`` value that starts a LocalCluster.
LOCAL = "local"
#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT_S = 20
#: Retries of a shard task that raised.
DEFAULT_RETRIES = 3
INSTALL_HINT = "pip install 'caloforge[dask]'"


def require_dask() -> None:
    """Refuse with one line when ``dask.distributed`` is not installed."""
    if find_spec("dask") is None or find_spec("distributed") is None:
        raise InputError("--dask needs dask.distributed, which is not installed",
                         f"{INSTALL_HINT}")


def cpu_count() -> int:
    """CPU cores this process may use (the default size of a local cluster)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextmanager
def open_client(cluster: str | Client, workers: int | None = None) -> Iterator[Client]:
    """A Dask client for the life of the block.

    Arguments:
        cluster: ``"local"``: a ``LocalCluster`` of ``workers`` processes with one thread each
            (closed afterwards; its workers may start processes, e.g. Geant4's); a scheduler
            address (``tcp://host:8786``) or scheduler file (``*.json``, written by ``dask
            scheduler --scheduler-file``): a client of that cluster; or a ``Client`` (used as
            it is, left open).
        workers: Processes of a local cluster (default: the CPU count).

    Raises:
        InputError: dask missing, a bad worker count, ``workers`` with an address, an address
            that cannot be reached.
    """
    if not isinstance(cluster, str):
        yield cluster
        return
    require_dask()
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}", "give a positive count")
    if cluster == LOCAL:
        with _quiet(logging.CRITICAL):  # a killed worker is retried, not news
            yield from _local(workers or cpu_count())
        return
    if workers is not None:
        raise InputError("--workers sizes a --dask local cluster",
                         f"drop it: the scheduler at '{cluster}' has its own workers")
    from distributed import Client

    where = {"address": cluster}
    if cluster.endswith(".json"):
        if not os.path.isfile(cluster):
            raise InputError(f"Dask scheduler file '{cluster}' not found",
                             "give the --scheduler-file of 'dask scheduler', or its address")
        where = {"scheduler_file": cluster}
    try:
        with _quiet(logging.CRITICAL):
            client = Client(**where, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TimeoutError) as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot connect to a Dask scheduler at '{cluster}' ({why})",
                         "start one (dask scheduler, or a dask-jobqueue cluster) and give its "
                         "address as tcp://HOST:8786, or use --dask local") from None
    try:
        with _quiet(logging.ERROR):
            yield client
    finally:
        client.close()


@contextmanager
def _quiet(level: int) -> Iterator[None]:
    """Dask's own log lines (which the command line would print) at ``level`` and above."""
    import distributed  # noqa: F401 - its import sets the logger's level

    logger = logging.getLogger("distributed")
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def _local(workers: int) -> Iterator[Client]:
    import dask
    from distributed import Client, LocalCluster

    # Workers are non-daemonic processes (read whenever a nanny (re)starts one), so that a
    # task may start its own processes; Geant4 shards run Geant4 in one.
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def run_shards(client: Client, task: Callable[[ShardSpec], Any], specs: Sequence[ShardSpec],
               *, retries: int = DEFAULT_RETRIES,
               on_done: Callable[[ShardSpec, Any], None] | None = None) -> list[Any]:
    """Run ``task(spec)`` for every spec on the cluster; ``on_done(spec, result)`` as each
    finishes (in any order). Returns the results in the order of ``specs``.

    Raises:
        CaloforgeError: a shard failed ``retries + 1`` times, or lost its worker too often;
            what finished is kept on disk, so the same command resumes.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    token = uuid.uuid4().hex[:8]
    futures = {client.submit(task, spec, key=f"caloforge-shard-{spec.shard.index:05d}-{token}",
                             retries=retries, pure=False): i for i, spec in enumerate(specs)}
    results: list[Any] = [None] * len(specs)
    try:
        for future in as_completed(futures):
            spec = specs[futures[future]]
            if future.status != "finished":
                exc = future.exception()
                if isinstance(exc, CaloforgeError):
                    raise exc
                if isinstance(exc, KilledWorker):
                    raise CaloforgeError(f"shard {spec.shard.index} lost its worker too often "
                                         "(killed, or out of memory?)", _RESUME) from None
                why = (str(exc).strip().splitlines() or [""])[0]
                raise CaloforgeError(f"shard {spec.shard.index} failed {retries + 1} times "
                                     f"({type(exc).__name__}: {why})", _RESUME) from exc
            results[futures[future]] = future.result()
            if on_done is not None:
                on_done(spec, results[futures[future]])
    finally:
        client.cancel(list(futures))
    return results


_RESUME = "finished shards are kept: after fixing the cause, run the same command again"
