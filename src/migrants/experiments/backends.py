"""Where runs execute: joblib ``Parallel`` over loky (default), Dask or Ray.

``open_backend(name, jobs, address)`` is a context manager that yields
``imap(fn, tasks)``: a generator of ``fn(task)`` results in completion order
(``return_as="generator_unordered"``).  Tasks are consumed lazily and at most
``2 * n_jobs`` are in flight (``pre_dispatch``), so memory stays bounded however
many runs a sweep has; each task is sent on its own (``batch_size=1``) so a
result is stored as soon as its run ends.

* ``loky``: ``jobs`` local worker processes (``jobs=1`` runs in this process).
* ``dask``: ``joblib.parallel_config(backend="dask")`` with a
  ``dask.distributed.Client``: to ``address`` (``tcp://HOST:PORT`` of a running
  scheduler), or to a ``LocalCluster`` of ``jobs`` single-threaded worker
  processes on 127.0.0.1.  Workers need the same ``migrants`` install and
  access to the scenario and policy files.
* ``ray``: optional (``pip install 'migrants[ray]'``); ``address`` goes to
  ``ray.init`` (none: a local Ray).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from ..errors import ConfigError

BACKENDS = ("loky", "dask", "ray")


def _parallel(n_jobs: int):
    from joblib import Parallel

    return Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1, pre_dispatch="2 * n_jobs")


def _imap(n_jobs: int) -> Callable[[Callable, Iterable], Iterator]:
    from joblib import delayed

    def imap(fn, tasks):
        return _parallel(n_jobs)(delayed(fn)(t) for t in tasks)

    return imap


def check_backend(name: str, jobs: int, address: str | None) -> None:
    """Raise ConfigError for a backend that cannot run (before anything is written)."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {name!r}: expected one of {', '.join(BACKENDS)}")
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: expected a whole number >= 1")
    if address and name == "loky":
        raise ConfigError(f"--address {address!r}: only the dask and ray backends take an address")
    if name == "ray":
        _import_ray()
    if name == "dask":
        _import_dask()


@contextmanager
def open_backend(name: str = "loky", jobs: int = 1, address: str | None = None):
    """Yield ``imap(fn, tasks)`` running on the chosen backend (see module docstring)."""
    check_backend(name, jobs, address)
    if name == "loky":
        yield _imap(jobs)
    elif name == "dask":
        with _dask_client(jobs, address):
            from joblib import parallel_config

            with parallel_config(backend="dask"):
                yield _imap(-1)
    else:
        with _ray(address):
            from joblib import parallel_config

            with parallel_config(backend="ray"):
                yield _imap(jobs if not address else -1)


@contextmanager
def _dask_client(jobs: int, address: str | None):
    Client, LocalCluster = _import_dask()
    cluster = None
    try:
        if address:
            try:
                client = Client(address, timeout="20s")
            except (OSError, TimeoutError, ValueError) as e:
                raise ConfigError(f"--address {address!r}: cannot connect to a Dask scheduler ({e})") from None
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


@contextmanager
def _ray(address: str | None):
    ray, register_ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
    register_ray()
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _import_dask():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--backend dask: dask.distributed is not installed; it is an optional extra: "
                          "pip install 'migrants[dask]'") from None
    return Client, LocalCluster


def _import_ray():
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise ConfigError("--backend ray: ray is not installed; it is an optional extra: "
                          "pip install 'migrants[ray]' (or use --backend loky or dask)") from None
    return ray, register_ray
