"""Email: plain-text UTF-8 messages sent through an SMTP server with the standard library's smtplib, or, with no
SMTP host configured (development, the demo), written as files under `<instance_dir>/messages/`.

A sender takes `EmailMessage`s and answers one `EmailOutcome` per message, in order: sent; retry_later (a 4xx
reply, a refused or timed-out connection, a failed TLS handshake or login: the server or its settings may be fine
later, and the outbox tries again with backoff); refused (a 5xx reply about this message or its recipient: trying
again will not help). An outcome's detail is a short classification ("SMTP 550 5.1.1", "connection refused"),
never the server's reply text, which may echo the address. Nothing here stores anything: the outbox message is
the caller's.

Operators read the logs: no log line carries an address, a subject or a text, nor the SMTP password (which is kept
out of every repr too).
"""
import logging
import re
import secrets
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

from backend.config import Config
from notifications.files import messages_dir, write_message

log = logging.getLogger(__name__)

# The outbox topic of notification emails (enqueued by notifications/service.py::notify, delivered by
# notifications/delivery.py::deliver_email); the recipient is f"email/{user_id}".
EMAIL_TOPIC = "notification.email"

SECURITIES = ("starttls", "tls", "none")

SENT = "sent"
RETRY_LATER = "retry_later"
REFUSED = "refused"

# RFC 3463 enhanced status code at the start of a reply's text ("5.1.1 ..."): safe to keep, it names no one.
_POLICY = policy.SMTP.clone(cte_type="7bit")
_ENHANCED = re.compile(rb"\s*([245]\.\d{1,3}\.\d{1,3})(?:\s|$)")


@dataclass(frozen=True)
class EmailMessage:
    """One plain-text message to one address. `reference` names it (the outbox message id): the file sender's file
    and the Message-ID carry it, so a retry rewrites the same file rather than adding another."""

    to: str
    subject: str
    text: str
    reference: str = field(default_factory=lambda: secrets.token_hex(8))

    def __post_init__(self):
        if not isinstance(self.to, str) or "@" not in self.to or any(c in self.to for c in "\r\n,<>"):
            raise ValueError("an email goes to one plain address")
        if not isinstance(self.subject, str) or "\r" in self.subject or "\n" in self.subject:
            raise ValueError("an email's subject is one line of text")
        if not isinstance(self.text, str):
            raise ValueError("an email's text is text")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.reference):
            raise ValueError("an email's reference is a short id (letters, digits, _ . -)")


@dataclass(frozen=True)
class EmailOutcome:
    """What became of one email."""

    status: str  # SENT, RETRY_LATER or REFUSED
    detail: str | None = None  # a short classification, never the server's reply text
    file: str | None = None  # the file sender's file name

    @property
    def sent(self) -> bool:
        return self.status == SENT


class EmailSender(Protocol):
    def send(self, messages: Sequence[EmailMessage]) -> list[EmailOutcome]: ...

    def describe(self) -> str: ...


def outcome_of_reply(code: int, reply: bytes | str | None, what: str = "") -> EmailOutcome:
    """An SMTP reply code (RFC 5321 §4.2.1: 4yz transient, 5yz permanent) as an outcome; the detail keeps the code
    and the enhanced status code only."""
    reply = reply.encode("utf-8", "replace") if isinstance(reply, str) else (reply or b"")
    enhanced = _ENHANCED.match(reply)
    detail = " ".join(filter(None, [f"SMTP {code}", enhanced.group(1).decode() if enhanced else None, what]))
    return EmailOutcome(REFUSED if 500 <= code < 600 else RETRY_LATER, detail)


def _connection_failure(step: str, error: BaseException) -> EmailOutcome:
    """A failure before any message could be tried: the server, the network or the settings, never the message,
    so every message waits for a later try."""
    if isinstance(error, smtplib.SMTPResponseException):
        return EmailOutcome(RETRY_LATER, f"{step}: {outcome_of_reply(error.smtp_code, error.smtp_error).detail}")
    if isinstance(error, ConnectionRefusedError):
        reason = "connection refused"
    elif isinstance(error, TimeoutError):
        reason = "timed out"
    elif isinstance(error, ssl.SSLCertVerificationError):
        reason = "server certificate not trusted"
    elif isinstance(error, ssl.SSLError):
        reason = "TLS failed"
    elif isinstance(error, smtplib.SMTPNotSupportedError):
        reason = "not offered by the server"
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        reason = "server disconnected"
    else:
        reason = type(error).__name__
    return EmailOutcome(RETRY_LATER, f"{step}: {reason}")


class SmtpSender:
    """Sends through an SMTP server: one connection per `send` call, its messages one after another.

    security: "starttls" (connect in clear, then STARTTLS before anything else; a server that does not offer it gets
    nothing), "tls" (TLS from the first byte, usually port 465) or "none" (development relays only). The server's
    certificate is checked against the system's CAs, or `ca_file` when given."""

    def __init__(self, host: str, port: int = 587, *, security: str = "starttls", username: str = "",
                 password: str = "", sender: str = "Plumb <no-reply@localhost>", timeout: float = 30,
                 ca_file: str = ""):
        if security not in SECURITIES:
            raise ValueError(f"SMTP security is one of {', '.join(SECURITIES)}, not {security!r}")
        if not parseaddr(sender)[1]:
            raise ValueError("the From address of emails is not an address")
        self.host, self.port, self.security, self.username = host, int(port), security, username
        self.sender, self.timeout, self.ca_file = sender, timeout, ca_file
        self.__password = password
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"

    def __repr__(self) -> str:
        return f"SmtpSender({self.host}:{self.port}, {self.security}, login={'yes' if self.username else 'no'})"

    def describe(self) -> str:
        login = ", with login" if self.username else ""
        return f"email through SMTP at {self.host}:{self.port} ({self.security}{login}), from {self.sender}"

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        step = "connect"
        connection = None
        try:
            if self.security == "tls":
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                              context=self._tls_context())
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                step = "STARTTLS"
                connection.starttls(context=self._tls_context())
            if self.username:
                step = "login"
                connection.login(self.username, self.__password)
            return connection
        except (smtplib.SMTPException, OSError) as error:
            if connection is not None:
                connection.close()
            raise _Unconnected(_connection_failure(step, error)) from None

    def _mime(self, message: EmailMessage) -> MimeMessage:
        # 7bit on the wire: UTF-8 text goes quoted-printable or base64, so no server needs 8BITMIME.
        mime = MimeMessage(policy=_POLICY)
        mime["From"] = self.sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = formatdate(usegmt=True)
        mime["Message-ID"] = make_msgid(idstring=message.reference, domain=self._domain)
        mime.set_content(message.text, charset="utf-8")
        return mime

    def send(self, messages: Sequence[EmailMessage]) -> list[EmailOutcome]:
        if not messages:
            return []
        try:
            connection = self._connect()
        except _Unconnected as failed:
            log.info("email: %d not sent, SMTP %s", len(messages), failed.outcome.detail)
            return [failed.outcome] * len(messages)
        outcomes: list[EmailOutcome] = []
        try:
            for message in messages:
                try:
                    connection.send_message(self._mime(message))
                    outcomes.append(EmailOutcome(SENT))
                except smtplib.SMTPRecipientsRefused as error:
                    code, reply = next(iter(error.recipients.values()))
                    outcomes.append(outcome_of_reply(code, reply, "recipient"))
                except smtplib.SMTPSenderRefused as error:
                    # About the From address (or the server's state), not this message: wait rather than give up.
                    outcomes.append(EmailOutcome(RETRY_LATER, outcome_of_reply(
                        error.smtp_code, error.smtp_error, "sender").detail))
                except smtplib.SMTPDataError as error:
                    outcomes.append(outcome_of_reply(error.smtp_code, error.smtp_error, "message"))
                except smtplib.SMTPNotSupportedError:
                    outcomes.append(EmailOutcome(REFUSED, "SMTPUTF8 not offered for a non-ASCII address"))
                except (smtplib.SMTPException, OSError) as error:
                    # The connection is gone (or in an unknown state): this one and the rest try again later.
                    outcomes.append(_connection_failure("send", error))
                    break
        finally:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
        outcomes += [EmailOutcome(RETRY_LATER, "send: not tried, the connection was lost")] * (
            len(messages) - len(outcomes))
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        log.info("email: %d through SMTP: %s", len(outcomes), counts)
        return outcomes

    def close(self) -> None:
        pass


class _Unconnected(Exception):
    def __init__(self, outcome: EmailOutcome):
        super().__init__(outcome.detail)
        self.outcome = outcome


class FileEmailSender:
    """Without an SMTP host: each email written as a private file under the messages directory (notifications/
    files.py), and one log line naming the file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FileEmailSender({self.directory})"

    def describe(self) -> str:
        return f"email not sent: no SMTP host (PLUMB_SMTP_HOST), each email written as a file in {self.directory}"

    def send(self, messages: Sequence[EmailMessage]) -> list[EmailOutcome]:
        outcomes = []
        for message in messages:
            path = write_message(self.directory, message.reference, [message.to], message.subject, message.text)
            log.info("email written to %s", path.name)
            outcomes.append(EmailOutcome(SENT, file=path.name))
        return outcomes

    def close(self) -> None:
        pass


def email_sender(config: Config) -> SmtpSender | FileEmailSender:
    """The sender the settings ask for: SMTP when a host is set, else the file sender under the instance directory."""
    if config.smtp_host:
        return SmtpSender(config.smtp_host, config.smtp_port, security=config.smtp_security,
                          username=config.smtp_username, password=config.smtp_password, sender=config.email_from,
                          timeout=config.smtp_timeout_seconds, ca_file=config.smtp_ca_file)
    return FileEmailSender(messages_dir(config.instance_dir))


def describe_email_sender(sender: EmailSender) -> str:
    """One line for the server to say at start which email sender is in use."""
    return sender.describe()
