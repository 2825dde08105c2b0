"""Where runs execute: joblib ``Parallel`` over loky (default), Dask or Ray.

``open_backend(name, jobs, address)`` is a context manager that yields
``imap(fn, tasks)``: a generator of ``fn(task)`` results in completion order
(``return_as="generator_unordered"``).  Tasks are consumed lazily and at most
``2 * n_jobs`` are in flight (``pre_dispatch``), so memory stays bounded however
many runs a sweep has; each task is sent on its own (``batch_size=1``) so a
result is stored as soon as its run ends.

* ``loky``: ``jobs`` local worker processes (``jobs=1`` runs in this process).
* ``dask``: ``joblib.parallel_config(backend="dask")`` with a
  ``dask.distributed.Client``: to ``address`` (``tls://HOST:PORT`` of a running
  scheduler, with the certificates ``tls`` names, or ``tcp://HOST:PORT``, which is
  unauthenticated: anyone who reaches the scheduler runs code on its workers), or
  to a local cluster of ``jobs`` single-threaded worker processes on 127.0.0.1
  that serves no HTTP (no dashboard, no /metrics: ``_NoHTTP``).  Workers need the
  same ``migrants`` install and access to the scenario and policy files.
* ``ray``: optional (``pip install 'migrants[ray]'``); ``address`` goes to
  ``ray.init`` (none: a local Ray).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import ConfigError, clip

BACKENDS = ("loky", "dask", "ray")
#: the certificate options of a Dask sweep: option -> distributed.Security field
TLS_OPTIONS = {"ca": ("--tls-ca", "tls_ca_file"), "cert": ("--tls-cert", "tls_client_cert"),
               "key": ("--tls-key", "tls_client_key")}
#: the warning a sweep over tcp:// gives
TCP_WARNING = ("--address {address}: tcp:// is neither encrypted nor authenticated: anyone who can reach the "
               "scheduler can run code on its workers (Dask ships pickled functions); prefer tls:// with "
               "--tls-ca, --tls-cert and --tls-key (docs/sweeps.md)")


def _parallel(n_jobs: int):
    from joblib import Parallel

    return Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1, pre_dispatch="2 * n_jobs")


def _imap(n_jobs: int) -> Callable[[Callable, Iterable], Iterator]:
    from joblib import delayed

    def imap(fn, tasks):
        return _parallel(n_jobs)(delayed(fn)(t) for t in tasks)

    return imap


def check_backend(name: str, jobs: int, address: str | None, tls: dict | None = None) -> None:
    """Raise ConfigError for a backend that cannot run (before anything is written)."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend {clip(name)}: expected one of {', '.join(BACKENDS)}")
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: expected a whole number >= 1")
    if address and name == "loky":
        raise ConfigError(f"--address {clip(address)}: only the dask and ray backends take an address")
    given = {k: v for k, v in (tls or {}).items() if v}
    if given and (name != "dask" or not str(address or "").startswith("tls://")):
        opts = ", ".join(TLS_OPTIONS[k][0] for k in given)
        raise ConfigError(f"{opts}: go with --backend dask --address tls://HOST:PORT (a local cluster and "
                          "tcp:// take no certificates)")
    if name == "ray":
        _import_ray()
    if name == "dask":
        _import_dask()
        if address:
            dask_security(address, tls)


def dask_security(address: str, tls: dict | None):
    """The ``distributed.Security`` for ``address``: for ``tls://``, the certificate files of ``tls``
    ({ca, cert, key}: paths) or, without them, the Dask configuration's ``distributed.comm.tls``;
    None for ``tcp://``.  A missing or unreadable file is a ConfigError naming its option."""
    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme not in ("tcp", "tls"):
        raise ConfigError(f"--address {clip(address)}: expected tls://HOST:PORT (or tcp://HOST:PORT)")
    if scheme == "tcp":
        return None
    import dask
    from distributed.security import Security

    given = {k: v for k, v in (tls or {}).items() if v}
    for k, v in given.items():
        path = Path(v)
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ConfigError(f"{TLS_OPTIONS[k][0]} {clip(str(v))}: no such readable file; expected a PEM file")
    if given:
        missing = [TLS_OPTIONS[k][0] for k in ("ca", "cert") if k not in given]
        if missing:
            raise ConfigError(f"--address {clip(address)}: tls:// needs {' and '.join(missing)} too (the CA that "
                              "signed the scheduler's certificate, and this client's certificate)")
        return Security(require_encryption=True, **{TLS_OPTIONS[k][1]: str(v) for k, v in given.items()})
    if not dask.config.get("distributed.comm.tls.ca-file", None):
        raise ConfigError(f"--address {clip(address)}: tls:// needs certificates: --tls-ca CA.pem --tls-cert "
                          "CLIENT.pem [--tls-key KEY.pem], or distributed.comm.tls in the Dask configuration")
    return Security()  # from the Dask configuration


@contextmanager
def open_backend(name: str = "loky", jobs: int = 1, address: str | None = None, tls: dict | None = None):
    """Yield ``imap(fn, tasks)`` running on the chosen backend (see module docstring)."""
    check_backend(name, jobs, address, tls)
    if name == "loky":
        yield _imap(jobs)
    elif name == "dask":
        with _dask_client(jobs, address, tls):
            from joblib import parallel_config

            with parallel_config(backend="dask"):
                yield _imap(-1)
    else:
        with _ray(address):
            from joblib import parallel_config

            with parallel_config(backend="ray"):
                yield _imap(jobs if not address else -1)


@contextmanager
def _dask_client(jobs: int, address: str | None, tls: dict | None = None):
    Client, LocalCluster = _import_dask()
    cluster = None
    try:
        if address:
            security = dask_security(address, tls)
            try:
                client = Client(address, timeout="20s", security=security)
            except (OSError, TimeoutError, ValueError, TypeError) as e:
                raise ConfigError(f"--address {clip(address)}: cannot connect to a Dask scheduler "
                                  f"({type(e).__name__}: {clip(str(e), 200)})") from None
        else:
            cluster = local_cluster(jobs)
            client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _no_http_classes():
    """A Dask scheduler and worker that start no HTTP server (Dask always starts one, even with
    ``dashboard_address=None``: the scheduler on 8787, each worker on a random port, serving
    /health, /metrics, /info and more to anyone who connects)."""
    from distributed import Scheduler, Worker
    from distributed.http.routing import RoutingApplication
    from tornado.httpserver import HTTPServer

    class _NoHTTP:
        def start_http_server(self, routes, dashboard_address, default_port=0, ssl_options=None):
            self.http_application = RoutingApplication(routes)
            self.http_server = HTTPServer(self.http_application)  # made, never listening

    return type("NoHTTPScheduler", (_NoHTTP, Scheduler), {}), type("NoHTTPWorker", (_NoHTTP, Worker), {})


def __getattr__(name):  # NoHTTPWorker by name: a Nanny imports its worker class in the worker process
    if name in ("NoHTTPScheduler", "NoHTTPWorker"):
        sched, worker = _no_http_classes()
        globals().update(NoHTTPScheduler=sched, NoHTTPWorker=worker)
        sched.__module__ = worker.__module__ = __name__
        return globals()[name]
    raise AttributeError(name)


def local_cluster(jobs: int):
    """``jobs`` single-threaded worker processes and a scheduler, on 127.0.0.1, without HTTP servers."""
    from distributed import Nanny, SpecCluster

    import migrants.experiments.backends as me

    scheduler = {"cls": me.NoHTTPScheduler, "options": {"host": "127.0.0.1", "dashboard": False,
                                                        "dashboard_address": None}}
    worker = {"cls": Nanny, "options": {"nthreads": 1, "host": "127.0.0.1", "dashboard": False,
                                        "worker_class": me.NoHTTPWorker,
                                        "silence_logs": logging.ERROR}}
    return SpecCluster(scheduler=scheduler, workers={i: worker for i in range(jobs)}, silence_logs=logging.ERROR,
                       name="migrants")


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
