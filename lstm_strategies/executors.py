"""Run independent tasks on a local process pool or on Ray, yielding results as they finish.

The same picklable task function runs under both executors, so results do not depend on which
one ran them. Ray is an optional extra (``pip install lstm-strategies[ray]``); with
``address=None`` it starts a local runtime, with ``"auto"`` or ``"ray://host:port"`` it joins a
cluster.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from lstm_strategies.errors import ConfigError


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


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
        # spawn, not fork: a process that already ran torch holds OpenMP/BLAS thread pools, and
        # children forked from it can deadlock on their locks
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(fn, **task): task for task in tasks}
            for future in as_completed(futures):
                yield futures[future], future.result()
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
