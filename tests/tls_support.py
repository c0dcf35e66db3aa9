"""A throwaway certificate authority and a TLS server on 127.0.0.1 that
answers like a search engine's REST root, for the secured-connection tests
(the shared test stack runs in plaintext)."""
from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    """PEM files: a CA, a server certificate for localhost/127.0.0.1 and a
    client certificate (its key encrypted with ``client_key_password``)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_key_password: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
                 *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def make_pki(folder: Path) -> Pki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("rasd test CA", ca_key, _name("rasd test CA"), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate("localhost", server_key, ca_cert.subject, ca_key, server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate("rasd-client", client_key, ca_cert.subject, ca_key)
    password = "client-key-passphrase"

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    pem = serialization.Encoding.PEM
    plain = serialization.NoEncryption()
    return Pki(
        ca=write("ca.pem", ca_cert.public_bytes(pem)),
        server_cert=write("server.pem", server_cert.public_bytes(pem)),
        server_key=write("server-key.pem", server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, plain)),
        client_cert=write("client.pem", client_cert.public_bytes(pem)),
        client_key=write("client-key.pem", client_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(password.encode()))),
        client_key_password=password,
    )


def server_context(pki: Pki, *, require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


@dataclass
class TlsEngine:
    """An HTTPS server that answers ``GET /`` like Elasticsearch or
    OpenSearch and ``HEAD /<index>`` with 404, only to requests carrying the
    ``Authorization`` header it expects (else 401). It records every
    request's method, path, Authorization header and client certificate."""

    pki: Pki
    distribution: str
    authorization: str
    require_client_cert: bool = False
    seen: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, body: bytes | None) -> None:
                peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                subject = dict(x[0] for x in peer["subject"])["commonName"] if peer else None
                given = self.headers.get("Authorization")
                engine.seen.append((self.command, self.path, given, subject))
                status = 200 if given == engine.authorization else 401
                if status == 200 and self.path != "/":
                    status, body = 404, b'{"error":"index_not_found_exception","status":404}'
                payload = body if status == 200 else (body or b'{"error":"security_exception","status":401}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if engine.distribution == "elasticsearch":
                    # the official client refuses an answer without it
                    self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(payload or b"")))
                self.end_headers()
                if self.command != "HEAD" and payload:
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                root = {"name": "tls-test", "version": {"number": "9.1.5" if engine.distribution == "elasticsearch"
                                                        else "2.19.1", "distribution": engine.distribution}}
                self._answer(json.dumps(root).encode())

            def do_HEAD(self) -> None:
                self._answer(None)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        context = server_context(self.pki, require_client_cert=self.require_client_cert)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
