"""Certificates made for a test by the ``openssl`` command, and an HTTPS collector.

A private CA signs a server certificate for ``localhost`` only (no IP address in it), so
a test can show a client trusting the CA through ``REQUESTS_CA_BUNDLE``, refusing the
server without it, and refusing ``127.0.0.1`` as a host name that does not match.
"""

from __future__ import annotations

import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.processes import run_command

_EXTENSIONS = """\
subjectAltName = DNS:localhost
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class Certificates:
    """Paths of the CA certificate and of the server's certificate and key (PEM)."""

    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    run_command(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> Certificates:
    """A CA and a ``localhost`` server certificate it signed, valid two days, in
    ``directory`` (skips the test where there is no ``openssl`` command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=readme-metrics test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)
    (directory / "server.ext").write_text(_EXTENSIONS)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "server.ext",
             "-out", "server.pem", cwd=directory)
    return Certificates(directory / "ca.pem", directory / "server.pem",
                        directory / "server.key")


def server_context(certificates: Certificates) -> ssl.SSLContext:
    """A server-side TLS context presenting the ``localhost`` certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert, certificates.key)
    return context


class TLSCollector(Collector):
    """The recording collector behind TLS; ``url`` names ``localhost``.

    ``server_names`` lists the SNI name of every handshake that reached the server.
    """

    def __init__(self, certificates: Certificates) -> None:
        super().__init__()
        self.server_names: list[str | None] = []
        context = server_context(certificates)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{self.port}"
