"""Run independent tasks on a local process pool or on Ray, yielding results as they finish.

The same picklable task function runs under both executors, so results do not depend on which
one ran them. Ray is an optional extra (``pip install lstm-strategies[ray]``); with
``address=None`` it starts a local runtime, with ``"auto"`` or ``"ray://host:port"`` it joins a
cluster.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from lstm_strategies.core.errors import ConfigError


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


PRELOAD = ["torch", "backtrader", "pandas", "arch", "arch.data.sp500", "quantstats", "lstm_strategies.backtest.runner",
           "lstm_strategies.reports.write", "lstm_strategies.models.lstm", "lstm_strategies.research.sweep",
           "lstm_strategies.strategies"]


def _context():
    """A forkserver that imports the library once; workers fork from it, not from this process.

    Forking the caller directly is unsafe once it has run torch (its OpenMP/BLAS thread pools
    can deadlock the child); spawning is safe but every worker pays the imports again.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


_POOLS: dict[int, ProcessPoolExecutor] = {}


def local_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool kept for the life of this process, so a second sweep starts no workers."""
    pool = _POOLS.get(workers)
    if pool is None:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker,
                                   initargs=(os.getpid(),))
        _POOLS[workers] = pool
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


def _init_worker(owner_pid: int) -> None:
    """One torch thread per worker (the pool already uses every core), and die with the owner."""
    import torch

    torch.set_num_threads(1)
    _watch_owner(owner_pid)


def _watch_owner(owner_pid: int, period: float = 0.5) -> None:
    """End this worker (and the idle forkserver it came from) once the process that owns the pool is gone.

    A sweep killed with SIGKILL cannot shut its pool down; without this its workers would keep
    running their tasks, and the forkserver would wait for work forever.
    """
    import signal
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(period)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                parent = os.getppid()
                if parent not in (1, owner_pid):
                    try:
                        os.kill(parent, signal.SIGTERM)  # the forkserver, orphaned with its owner
                    except ProcessLookupError:
                        pass
                os._exit(1)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def run_tasks(fn: Callable, tasks: list[dict], executor: str = "local", workers: int | None = None,
              address: str | None = None) -> Iterator[tuple[dict, object]]:
    """Yield ``(task, fn(**task))`` in completion order.

    Parameters
    ----------
    fn : callable
        A module-level function (picklable), called with each task's keyword arguments.
    tasks : list of dict
    executor : {"local", "ray"}
    workers : int, optional
        Local processes (default: the cores available), or Ray CPUs for a runtime started here.
    address : str, optional
        Ray cluster address.
    """
    if not tasks:
        return
    workers = workers or default_workers()
    if executor == "local":
        if workers == 1:
            for task in tasks:
                yield task, fn(**task)
            return
        pool = local_pool(workers)
        futures = {pool.submit(fn, **task): task for task in tasks}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()
        return
    if executor != "ray":
        raise ConfigError(f"executor {executor!r}: choose 'local' or 'ray'")
    try:
        import ray
    except ImportError:
        raise ConfigError("executor 'ray' needs Ray: pip install 'lstm-strategies[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1)(fn)
    pending = {remote.remote(**task): task for task in tasks}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                yield task, ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref)
