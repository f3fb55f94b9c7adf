"""The notifications tests' fake FCM (a local process answering FCM's v1 send endpoint) and a real FCM sender
(firebase-admin) pointed at it; the fake SMTP server (aiosmtpd, a local process) and the app's SMTP sender pointed
at it."""
import dataclasses
import ipaddress
import itertools
from datetime import datetime, timedelta, timezone

import pytest

from backend import wiring
from backend.outbox import Dispatcher
from notifications import push
from notifications.email import email_sender
from notifications.push import FcmSender
from tests.support.fake_fcm import FakeFcm, OfflineCredential, ToFakeFcm
from tests.support.fake_smtp import FakeSmtp
from tests.support.receivers import free_port

PROJECT = "plumb-test"
_apps = itertools.count()


def app_name() -> str:
    """A firebase app name of its own for each sender (the SDK keeps its apps by name, process-wide)."""
    return f"plumb-push-test-{next(_apps)}"


@pytest.fixture(scope="module")
def fake_fcm(tmp_path_factory):
    fake = FakeFcm(tmp_path_factory.mktemp("fcm"), free_port()).start()
    yield fake
    fake.stop()


@pytest.fixture
def sender(fake_fcm):
    """The SDK's own sender, each test on a firebase app of its own, the fake answering every token with success
    until the test says otherwise."""
    fake_fcm.answer()
    transport = ToFakeFcm(fake_fcm.base_url, pool_connections=push.BATCH_SIZE, pool_maxsize=push.BATCH_SIZE,
                          max_retries=push.RETRIES)
    sender = FcmSender(OfflineCredential(), PROJECT, app_name=app_name(), transport=transport)
    yield sender
    sender.close()


# ---- email: a local SMTP server (aiosmtpd) and the real smtplib client pointed at it -----------------------------

@pytest.fixture(scope="module")
def fake_smtp(tmp_path_factory):
    """A plain SMTP server on loopback (no TLS, no login), shared by a module's tests."""
    fake = FakeSmtp(tmp_path_factory.mktemp("smtp")).start()
    yield fake
    fake.stop()


@pytest.fixture
def smtp_config(plumb, fake_smtp):
    """The test's settings with the fake SMTP server as the host; it accepts every recipient until told otherwise."""
    fake_smtp.answer()
    return dataclasses.replace(plumb.config, smtp_host="127.0.0.1", smtp_port=fake_smtp.smtp_port,
                               smtp_security="none", email_from="Plumb <no-reply@plumb.test>", smtp_timeout_seconds=10)


@pytest.fixture
def smtp_outbox(plumb, smtp_config):
    """A dispatcher on the app's wiring with the email sender the SMTP settings pick (smtplib to the fake)."""
    deliverers = wiring.deliverers(plumb.db, plumb.vault, plumb.payroll_adapters, smtp_config.instance_dir,
                                   plumb.push_sender, email_sender(smtp_config))
    dispatcher = Dispatcher(plumb.db, deliverers, base_delay=0)
    yield dispatcher
    dispatcher.close()


@pytest.fixture(scope="module")
def tls_certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files): the fake's STARTTLS certificate, and the
    only CA the sender trusts through smtp_ca_file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Plumb test SMTP")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)
