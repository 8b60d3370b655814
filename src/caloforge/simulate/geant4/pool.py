"""Worker processes for the Geant4 engine: start them, feed them chunks, watch them.

Tasks are fed lazily (a few per worker in flight), so a queue never holds more than a few
chunks' inputs and an error leaves nothing to flush. A worker that exits before it was told to
stop (a crash, ``kill -9``, out of memory) ends the run at once with one line naming its log;
the chunks finished so far stay on disk for ``--resume``.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloforge.errors import InputError
from caloforge.simulate.geant4.worker import ChunkTask, WorkerSetup, serve

__all__ = ["IN_FLIGHT_PER_WORKER", "POLL_S", "run_pool"]

#: Seconds to wait for a worker message before checking that the workers are alive.
POLL_S = 1.0
#: Chunks queued per worker beyond the one it is simulating.
IN_FLIGHT_PER_WORKER = 2


def _log_hint(root: Path, pid: int | None) -> str:
    log = root / f"worker-{pid}.log"
    return f"Geant4's output is in {log}; " if pid and log.exists() else ""


def run_pool(setup: WorkerSetup, todo: list[ChunkTask], root: Path, run_id: str,
             n_workers: int, on_done: Callable[[ChunkTask, float], None]) -> None:
    """Simulate ``todo`` on ``n_workers`` spawned processes; ``on_done(task, cpu_seconds)``
    after each chunk is on disk.

    Raises:
        InputError: a worker failed or died (the message names its log and ``--resume``).
    """
    ctx = multiprocessing.get_context("spawn")
    tasks: Any = ctx.Queue()
    results: Any = ctx.Queue()
    pending = deque(todo)
    by_index = {t.index: t for t in todo}
    procs = [ctx.Process(target=serve, args=(setup, tasks, results, str(root), run_id),
                         daemon=True) for _ in range(n_workers)]
    for proc in procs:
        proc.start()
    queued, remaining, stopping = 0, set(by_index), False

    def feed() -> None:
        nonlocal queued, stopping
        while pending and queued < IN_FLIGHT_PER_WORKER * n_workers:
            tasks.put(pending.popleft())
            queued += 1
        if not pending and not stopping:
            for _ in procs:
                tasks.put(None)
            stopping = True

    def fail(what: str, pid: int | None) -> InputError:
        kept = len(by_index) - len(remaining)
        return InputError(f"{what} with {len(remaining)} chunks left ({kept} finished this "
                          f"run are kept)", f"{_log_hint(root, pid)}after fixing the cause, "
                          "run the same command with --resume")

    try:
        feed()
        while remaining:
            try:
                message = results.get(timeout=POLL_S)
            except queue.Empty:
                # a worker leaves with code 0 only after its stop signal (or an error report)
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise fail(f"a Geant4 worker (pid {dead[0].pid}) died, exit code "
                               f"{dead[0].exitcode}", dead[0].pid) from None
                if all(p.exitcode is not None for p in procs):
                    raise fail("the Geant4 workers stopped", procs[0].pid) from None
                continue
            if message[0] == "error":
                raise fail(f"a Geant4 worker failed ({message[1]})", None)
            if message[0] == "done":
                queued -= 1
                remaining.discard(message[1])
                on_done(by_index[message[1]], message[3])
                feed()
    finally:
        tasks.cancel_join_thread()      # never block exit on undelivered inputs
        results.cancel_join_thread()
        for proc in procs:
            proc.join(timeout=0 if remaining else 10)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
