"""Running tasks on a Dask cluster: the :class:`~simulator.sim.run.Executor` seam, distributed.

:class:`DaskExecutor` wraps a ``distributed.Client`` (an existing cluster reached by its
scheduler's address, or a ``LocalCluster`` on this machine, see :func:`connect`). Tasks
are submitted one future each; results come back as the cluster finishes them. The
scenario — the ``shared`` argument of :meth:`DaskExecutor.map_shared` — is scattered to
the workers once (to every worker, so that losing one loses no copy) rather than sent with
every task.

Faults are Dask's to handle: a task whose worker dies is run again elsewhere (up to the
scheduler's ``allowed-failures``), and since a task's result depends on the task only,
where or how often it ran changes nothing. A scheduler that cannot be reached fails
within :data:`CONNECT_TIMEOUT_S` seconds with one :class:`ClusterError`.

Dask is an optional dependency (``pip install "condlaunch[distributed]"``): this module
imports it only when a function here is called.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar

from simulator.errors import InputError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ClusterError",
    "DaskExecutor",
    "connect",
    "quiet_dask_logs",
    "require_dask",
]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

CONNECT_TIMEOUT_S: Final = 5.0
"""Seconds to wait for a scheduler before giving up."""

INSTALL_HINT: Final = 'pip install "condlaunch[distributed]" (dask and distributed)'


class ClusterError(InputError):
    """The cluster cannot be used: Dask is not installed, or the scheduler is unreachable."""


def require_dask() -> Any:
    """The ``distributed`` module, or a :class:`ClusterError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"needs Dask: {INSTALL_HINT}", field="executor") from None
    return distributed


def quiet_dask_logs() -> None:
    """Keep Dask's own log lines (a worker restarting, a task retried, a task given up)
    off the terminal: the command's output is its progress bar and tables, and a failure
    is one line of :class:`ClusterError`. Dask's logs on the workers are unchanged."""
    for name in ("distributed", "distributed.client", "distributed.scheduler", "distributed.nanny"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class DaskExecutor:
    """Run tasks on a Dask cluster through ``client`` (see the module docstring).

    Parameters
    ----------
    client
        A connected ``distributed.Client``. The executor does not close it.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._scattered: dict[int, tuple[object, Any]] = {}

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every task on the cluster; results in the order of ``tasks``."""
        futures = [self.client.submit(fn, task, pure=False) for task in tasks]
        try:
            for future in futures:
                yield future.result()
        finally:
            self.client.cancel(futures)

    def map_shared(
        self, fn: Callable[[S, T], R], shared: S, tasks: Sequence[T]
    ) -> Iterator[tuple[int, R]]:
        """``(index, fn(shared, task))`` for every task, as the cluster finishes them;
        ``shared`` is scattered once per executor (every worker gets a copy)."""
        distributed = require_dask()
        handle = self._scatter(shared)
        futures = [self.client.submit(fn, handle, task, pure=False) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in distributed.as_completed(futures):
                yield index[future.key], future.result()
        except Exception as exc:
            if type(exc).__module__.partition(".")[0] != "distributed":
                raise  # the task's own error, as it would be in this process
            # The cluster's: a task that killed every worker it ran on (KilledWorker), the
            # scheduler gone, …
            first = (str(exc).splitlines() or [""])[0]
            raise ClusterError(
                f"the Dask cluster failed: {type(exc).__name__}: {first}", field="scheduler"
            ) from exc
        finally:  # interrupted or failed: drop what is still queued on the cluster
            self.client.cancel(futures)

    def _scatter(self, shared: object) -> Any:
        """The future of ``shared`` on the cluster, scattered on first use."""
        known = self._scattered.get(id(shared))
        if known is not None and known[0] is shared:
            return known[1]
        handle = self.client.scatter(shared, broadcast=True, hash=False)
        self._scattered[id(shared)] = (shared, handle)
        return handle


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore SIGINT while local worker processes start, so that they inherit it ignored
    (Python keeps an ignored SIGINT ignored): Ctrl-C in a terminal reaches the whole
    process group, and only this process should handle it (by closing the cluster),
    not every worker with a traceback of its own."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def connect(scheduler: str | None = None, *, workers: int = 2) -> Iterator[DaskExecutor]:
    """A :class:`DaskExecutor` on the cluster at ``scheduler`` (``tcp://HOST:PORT``), or on a
    new ``LocalCluster`` of ``workers`` single-threaded worker processes when None; closed
    (the local cluster shut down) on exit.

    Raises
    ------
    ClusterError
        If Dask is not installed, or no scheduler answers at ``scheduler`` within
        :data:`CONNECT_TIMEOUT_S` seconds.
    """
    distributed = require_dask()
    if scheduler is None:
        with _ctrl_c_ignored():  # inherited by the worker processes: Ctrl-C is the parent's
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # no fixed port: 8787 may be taken
                silence_logs=logging.ERROR,
            )
        with cluster, distributed.Client(cluster) as client:
            yield DaskExecutor(client)
        return
    try:
        client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(
            f"cannot reach a Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S:g} s "
            f"({reason})",
            field="scheduler",
        ) from None
    with client:
        yield DaskExecutor(client)
