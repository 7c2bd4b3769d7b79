"""Dask (``distributed``) helpers: reach or start a cluster, and price one block on it.

:func:`cluster_client` connects to a running scheduler (``tcp://HOST:PORT``) or starts a
``LocalCluster`` of worker processes. :class:`DaskBlockRunner` is a drop-in for
:func:`sim.engine.driver.run_block`: the workers project contract chunks and send back
their per-path values; the client adds them into the block's per-scenario totals in
contract order, chunk by chunk, exactly as ``run_block`` does on one machine, so
``price(config, block_runner=DaskBlockRunner(client))`` gives the same figures bit for bit.

Dask is an optional dependency (the ``dask`` and ``dev`` extras); it is imported only
when one of these functions runs.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .config import ConfigError
from .engine.driver import (
    BlockRun,
    add_to_totals,
    auto_chunk_size,
    path_standard_errors,
    project_paths,
)
from .engine.layout import Model

__all__ = ["DaskBlockRunner", "cluster_client", "price_on_cluster", "worker_threads"]


# ------------------------------------------------------------------------------------------
# ------------------------------------------------------------------------------------------


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            ["Dask is not installed: pip install -e '.[dask]' (or '.[dev]')"]
        ) from None
    return distributed


@contextmanager
def cluster_client(
    scheduler: str | None = None, workers: int | None = None, threads_per_worker: int = 1
) -> Iterator:
    """A ``distributed.Client`` on a running cluster or on a new local one; closed on exit.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786`` (``dask scheduler``);
        tried for Dask's ``distributed.comm.timeouts.connect`` (30 s by default).
    workers : int, optional
        Start a ``LocalCluster`` with this many worker processes instead.
    threads_per_worker : int
        Threads of each local worker (and numba threads of its cells).

    Raises
    ------
    ConfigError
        One line: Dask missing, both or neither of ``scheduler`` / ``workers``, or the
        scheduler cannot be reached.
    """
    if (scheduler is None) == (workers is None):
        raise ConfigError(["give either a scheduler address or a number of workers"])
    distributed = _import_distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler)  # waits distributed.comm.timeouts.connect
        except (OSError, TimeoutError, ValueError) as err:
            raise ConfigError(
                [
                    f"--scheduler {scheduler}: cannot connect: "
                    f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                ]
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers < 1:
        raise ConfigError([f"--workers {workers}: must be at least 1"])
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def worker_threads(threads: int) -> int:
    """Numba threads for a task: ``threads`` if positive, else the threads of the Dask
    worker running it (so that one worker's tasks do not oversubscribe its cores)."""
    if threads > 0:
        return threads
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return 0


def _chunk_task(model: Model, lo: int, hi: int, fee_rate: float | None, threads: int) -> np.ndarray:
    """Worker task: per-path values of one contract chunk (at one fee rate if given)."""
    if fee_rate is not None:
        model = model.with_fee_rate(fee_rate)
    return project_paths(model, lo, hi, worker_threads(threads))


class DaskBlockRunner:
    """:func:`sim.engine.driver.run_block` on a Dask cluster, with the same results.

    The model is sent to every worker once (``scatter``, kept while the same model is
    run, e.g. at every fee of the break-even search). Contract chunks are submitted a few
    at a time; their per-path arrays are added to the totals in contract order as they
    arrive in order, and per-contract means and standard errors come from the same arrays.

    Parameters
    ----------
    client : distributed.Client
    chunk_size : int
        Contracts per task; 0 = about four tasks per worker thread (at most the driver's
        memory-sized chunk). Results do not depend on it.
    """

    def __init__(self, client, chunk_size: int = 0):
        self.client = client
        self.chunk_size = int(chunk_size)
        self._model_id: int | None = None
        self._model_future = None

    def _scattered(self, model: Model):
        if self._model_id != id(model):
            self._model_future = self.client.scatter(model, broadcast=True, hash=False)
            self._model_id = id(model)
        return self._model_future

    def _chunk(self, n_contracts: int, n_scenarios: int, chunk_size: int, n_steps: int = 0) -> int:
        if self.chunk_size > 0:
            return self.chunk_size
        if chunk_size > 0:
            return chunk_size
        slots = max(1, sum(self.client.nthreads().values()))
        memory_cap = auto_chunk_size(n_scenarios, n_steps)
        return max(1, min(memory_cap, -(-n_contracts // (4 * slots))))

    def __call__(
        self,
        model: Model,
        threads: int = 0,
        chunk_size: int = 0,
        progress: bool | None = None,
        trace: bool = False,
        fee_rate: float | None = None,
        contract_stats: bool = True,
        cashflows: bool = False,
        path_sink=None,
    ) -> BlockRun:
        """Same parameters and result as :func:`sim.engine.driver.run_block` (no trace; no
        cash flows: ``cashflows`` is ignored and ``BlockRun.cashflows`` is None; ``path_sink``
        gets each chunk's paths in contract order as run_block gives them;
        ``progress`` is ignored; ``seconds`` is the wall time of the whole run)."""
        if trace:
            raise ValueError("a trace is not available on a Dask cluster: run without --scheduler")
        from .engine import kernels as K

        t0 = time.perf_counter()
        n_c, n_s = len(model.contracts), model.n_scenarios
        chunk = self._chunk(n_c, n_s, chunk_size, model.discount.shape[1] - 1)
        starts = list(range(0, n_c, chunk))
        in_flight = max(2, 2 * max(1, sum(self.client.nthreads().values())))
        model_future = self._scattered(model)
        totals = np.zeros((K.N_MEASURES, n_s))
        c_mean = np.zeros((K.N_MEASURES, n_c))
        c_se = np.zeros((K.N_MEASURES, n_c))
        pending: collections.deque = collections.deque()
        next_start = 0
        while next_start < len(starts) or pending:
            while next_start < len(starts) and len(pending) < in_flight:
                lo = starts[next_start]
                hi = min(lo + chunk, n_c)
                pending.append(
                    (
                        lo,
                        hi,
                        self.client.submit(
                            _chunk_task, model_future, lo, hi, fee_rate, threads, pure=False
                        ),
                    )
                )
                next_start += 1
            lo, hi, future = pending.popleft()  # contract order
            paths = future.result()
            future.release()
            add_to_totals(paths, totals)
            if contract_stats:
                c_mean[:, lo:hi], c_se[:, lo:hi] = path_standard_errors(paths, model.sample_group)
            if path_sink is not None:
                path_sink(lo, paths)
        contracts = model.contracts
        path_steps = int(contracts.maturity_step.sum()) * n_s
        n_threads = sum(self.client.nthreads().values())
        return BlockRun(c_mean, c_se, totals, None, time.perf_counter() - t0, path_steps, n_threads)


def price_on_cluster(config, client, inforce=None, chunk_size: int = 0, path_sink=None):
    """:func:`sim.price` with the block's contract chunks projected on the cluster of
    ``client``; the break-even search runs its passes the same way. Same result, bit for
    bit, as ``sim.price(config, inforce)`` (``path_sink`` as there)."""
    from .valuation import price

    return price(
        config, inforce, block_runner=DaskBlockRunner(client, chunk_size), path_sink=path_sink
    )
