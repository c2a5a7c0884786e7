"""A real SMTP server for tests: aiosmtpd on loopback, recording what it receives.

Used by tests/mail and tests/setup. Optional STARTTLS (a self-signed certificate for 127.0.0.1) and
AUTH LOGIN/PLAIN, and a switch to answer the next messages with a temporary 451 error.
"""

from __future__ import annotations

import datetime as dt
import email
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated_as: str | None


@dataclass
class Recorder:
    messages: list[Received] = field(default_factory=list)
    temporary_failures: int = 0
    refused_recipients: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refused_recipients:
            return "550 5.1.1 Ukjent mottaker"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.temporary_failures > 0:
                self.temporary_failures -= 1
                return "451 4.3.0 Midlertidig feil, prøv igjen senere"
            parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, login))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def fail_next(self, count: int) -> None:
        self.recorder.temporary_failures = count


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def running_smtp_server(
    *, tls_files: tuple[Path, Path] | None = None, users: dict[str, str] | None = None
) -> Iterator[SmtpServer]:
    recorder = Recorder()
    port = free_port()
    options: dict[str, Any] = {}
    if tls_files is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
        options.update(tls_context=context, require_starttls=True)
    if users is not None:

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == data.password.decode()
            return AuthResult(success=ok, handled=False, auth_data=data)

        options.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls_files is not None)
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(port, recorder)
    finally:
        controller.stop()
