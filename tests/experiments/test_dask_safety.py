"""The cluster path: a tls:// scheduler with certificates (--tls-ca/--tls-cert/--tls-key), a refused
tls:// without them, a warned tcp://, and a local cluster that serves no HTTP (nothing on 8787)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from migrants.cli import main
from migrants.errors import ConfigError
from migrants.experiments.backends import check_backend, dask_security, open_backend

from .conftest import write_spec

pytest.importorskip("distributed")


def square(x):
    return x * x


def listening_ports(pids) -> set[int]:
    import psutil

    ports = set()
    for pid in pids:
        for c in psutil.Process(pid).net_connections(kind="tcp"):
            if c.status == psutil.CONN_LISTEN:
                ports.add(c.laddr.port)
    return ports


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_a_local_dask_cluster_serves_no_http():
    import psutil
    from distributed import get_client

    with open_backend("dask", 2) as imap:
        assert sorted(imap(square, range(4))) == [0, 1, 4, 9]
        info = get_client().scheduler_info()
        me = psutil.Process()
        ports = listening_ports([me.pid, *(p.pid for p in me.children(recursive=True))])
        comm = {port_of(info["address"])} | {port_of(a) for a in info["workers"]}
        comm |= {port_of(w["nanny"]) for w in info["workers"].values() if w.get("nanny")}
        assert 8787 not in ports
        assert ports == comm, (ports, comm)  # Dask's comm ports only: no dashboard, no /metrics
        assert all(not w.get("services") for w in info["workers"].values())
        assert not info.get("services")


def make_certs(folder: Path) -> dict:
    """A CA and one certificate it signed (for the scheduler, the workers and the client alike)."""
    run = lambda *a: subprocess.run(["openssl", *a], cwd=folder, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=migrants test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=localhost")
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "node.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"ca": folder / "ca.pem", "cert": folder / "node.pem", "key": folder / "node.key"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make certificates")
def test_a_sweep_over_tls_with_certificates(tmp_path, capsys):
    import logging

    from distributed import LocalCluster
    from distributed.security import Security

    certs = make_certs(tmp_path)
    sec = Security(tls_ca_file=str(certs["ca"]), tls_scheduler_cert=str(certs["cert"]),
                   tls_scheduler_key=str(certs["key"]), tls_worker_cert=str(certs["cert"]),
                   tls_worker_key=str(certs["key"]), tls_client_cert=str(certs["cert"]),
                   tls_client_key=str(certs["key"]), require_encryption=True)
    spec = write_spec(tmp_path, months=2, replicates=1, baseline=None)
    with LocalCluster(n_workers=1, threads_per_worker=1, protocol="tls", security=sec, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        # without certificates: refused before anything is written, one line naming the options
        code = main(["sweep", str(spec), "--backend", "dask", "--address", address, "--out", str(tmp_path / "a")])
        err = capsys.readouterr().err
        assert code == 2 and "--tls-ca" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not (tmp_path / "a").exists()
        # with them: the runs go over TLS
        out = tmp_path / "b"
        code = main(["sweep", str(spec), "--backend", "dask", "--address", address, "--tls-ca", str(certs["ca"]),
                     "--tls-cert", str(certs["cert"]), "--tls-key", str(certs["key"]), "--out", str(out),
                     "--quiet", "--threads-per-run", "1"])
        err = capsys.readouterr().err
        assert code == 0, err
        assert len(list((out / "runs").glob("*.parquet"))) == 4  # 4 design points, 1 replicate


def test_tls_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="--tls-ca"):
        dask_security("tls://127.0.0.1:1", {"ca": tmp_path / "missing.pem", "cert": None, "key": None})
    (tmp_path / "c.pem").write_text("x")
    with pytest.raises(ConfigError, match="needs --tls-ca"):
        dask_security("tls://127.0.0.1:1", {"ca": None, "cert": tmp_path / "c.pem", "key": None})
    with pytest.raises(ConfigError, match="go with --backend dask --address tls://"):
        check_backend("dask", 1, "tcp://127.0.0.1:1", {"ca": tmp_path / "c.pem"})
    with pytest.raises(ConfigError, match="go with"):
        check_backend("loky", 1, None, {"cert": tmp_path / "c.pem"})
    with pytest.raises(ConfigError, match="expected tls://"):
        dask_security("ws://127.0.0.1:1", None)
    assert dask_security("tcp://127.0.0.1:1", None) is None
    sec = dask_security("tls://127.0.0.1:1", {"ca": tmp_path / "c.pem", "cert": tmp_path / "c.pem", "key": None})
    assert sec.require_encryption and sec.tls_ca_file == str(tmp_path / "c.pem")


def test_tcp_is_warned_and_an_unreachable_tls_scheduler_is_one_line(tmp_path, capsys):
    spec = write_spec(tmp_path, months=1, replicates=1, baseline=None)
    (tmp_path / "c.pem").write_text("not a certificate")
    code = main(["sweep", str(spec), "--backend", "dask", "--address", "tls://127.0.0.1:9", "--tls-ca",
                 str(tmp_path / "c.pem"), "--tls-cert", str(tmp_path / "c.pem"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "--address" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code = main(["sweep", str(spec), "--backend", "dask", "--address", "tcp://127.0.0.1:9", "--out",
                 str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == 2 and "neither encrypted nor authenticated" in err and "cannot connect" in err


def test_calibrate_takes_the_certificate_options(tmp_path, capsys):
    from .conftest import ROOT

    (tmp_path / "c.pem").write_text("not a certificate")
    code = main(["calibrate", str(ROOT / "experiments" / "calibrate_tiny.yaml"), "--backend", "dask", "--address",
                 "tls://127.0.0.1:9", "--tls-ca", str(tmp_path / "c.pem"), "--tls-cert", str(tmp_path / "c.pem"),
                 "--out", str(tmp_path / "cal"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "--address" in err and "No such option" not in err and "Traceback" not in err
    assert not (tmp_path / "cal").exists()
