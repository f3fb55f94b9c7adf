"""Email leaves the outbox through the standard library's smtplib to a local SMTP server (aiosmtpd, its own process):
invitations carry their code to the employee's mailbox only, notification emails go to the user's current address,
a busy mailbox (4xx) is tried again, a refused one (5xx) is dead at once without holding up anyone else, STARTTLS
with a login works against a certificate trusted through smtp_ca_file, and without an SMTP host every email is a
private file and the log names only the file."""
import dataclasses
import logging
import stat

import pytest
from sqlalchemy import select, update

from backend import wiring
from backend.identity.models import User
from backend.outbox import Dispatcher, OutboxMessage, enqueue
from backend.plans.invitations import TOPIC as INVITATION_TOPIC
from notifications.email import EMAIL_TOPIC, FileEmailSender, SmtpSender, email_sender
from notifications.files import messages_dir
from tests import scenario
from tests.support.fake_smtp import FakeSmtp
from tests.support.outbox import drain
from tests.support.receivers import free_port

E2_BORN, E2_SSN4 = "2006-03-10", "4321"
PARTICIPANT_EMAIL = "e1@phone.example.com"  # where scenario.World's participant signed up
SPONSOR_EMAIL = "sponsor@example.com"


def user_id(plumb, email: str) -> str:
    with plumb.db.transaction() as session:
        return session.scalar(select(User.id).where(User.email == email))


def enqueue_email(plumb, email: str, subject: str = "Contribution posted",
                  text: str = "Your contribution of $123.45 was posted.\n") -> str:
    """A notification email queued as notify() queues it (the outbox contract of notification.email); its id."""
    user = user_id(plumb, email)
    with plumb.db.transaction() as session:
        message = enqueue(session, EMAIL_TOPIC, f"email/{user}", {
            "notification_id": "ntf_test", "user_id": user, "kind": "contribution_posted", "subject": subject,
            "text": text})
        session.flush()
        return message.id


def outbox_row(plumb, message_id: str) -> OutboxMessage:
    with plumb.db.transaction() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
        session.expunge(row)
        return row


def to(received: list[dict], address: str) -> list[dict]:
    return [r for r in received if r["rcpt_tos"] == [address]]


# ---- invitations -------------------------------------------------------------------------------------------------

def test_an_invitation_email_reaches_the_employee_with_its_code_and_no_staff_answer_shows_it(app, client, plumb,
                                                                                            fake_smtp, smtp_outbox):
    world = scenario.World(app, client)
    e2 = world.employees["E2"]
    resent = client.post(f"/v1/employees/{e2['id']}/invitation", headers=world.sponsor)
    assert resent.status_code == 202, resent.json
    drain(plumb, smtp_outbox)
    [mail] = to(fake_smtp.received(), "e2@example.com")
    message = mail["message"]
    assert message["To"] == "e2@example.com" and message["From"] == "Plumb <no-reply@plumb.test>"
    assert message["Subject"] == "Your Acme Bakery LLC 401(k): sign up on the Plumb app"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    code = next(line.split(":", 1)[1].strip() for line in message.get_content().splitlines()
                if line.strip().startswith("Invite code:"))
    # Sent by email, so not also left as a file.
    folder = messages_dir(plumb.config.instance_dir)
    assert not any(code in path.read_text() for path in folder.glob("*.txt"))
    for staff in (world.sponsor, world.advisor):
        for answer in (client.get(f"/v1/employees/{e2['id']}", headers=staff),
                       client.get(f"/v1/employers/{world.employer_id}/employees?limit=500", headers=staff),
                       client.get(f"/v1/employers/{world.employer_id}/audit-events?limit=500", headers=staff)):
            assert answer.status_code == 200 and code not in answer.get_data(as_text=True)
    assert code not in resent.get_data(as_text=True)
    signed_up = client.post("/mobile/v1/signup", json={
        "invite_code": code, "date_of_birth": E2_BORN, "ssn_last4": E2_SSN4, "email": "e2@phone.example.com",
        "password": scenario.PARTICIPANT_PASSWORD})
    assert signed_up.status_code == 201, signed_up.json


def test_an_invitation_with_only_a_phone_is_written_as_a_file_since_sms_is_not_sent(app, client, plumb, fake_smtp,
                                                                                    smtp_outbox):
    world = scenario.World(app, client)
    upload = scenario.upload_csv(client, world.sponsor, world.employer_id, [
        scenario.census_row("E3", "1970-01-31", "2010-09-01", "555-12-3434", email="", phone="+15555550123")])
    assert upload.status_code == 200, upload.json
    drain(plumb, smtp_outbox)
    assert to(fake_smtp.received(), "+15555550123") == []
    files = [path.read_text() for path in messages_dir(plumb.config.instance_dir).glob("*.txt")]
    assert [text for text in files if "To: +15555550123" in text and "Invite code:" in text]


def test_an_invitation_that_bounced_for_good_does_not_hold_up_the_one_sent_to_the_corrected_address(
        app, client, plumb, fake_smtp, smtp_outbox):
    world = scenario.World(app, client)
    fake_smtp.answer(**{"typo@exampel.com": 550})
    wrong = scenario.census_row("E3", "1970-01-31", "2010-09-01", "555-12-3434", email="typo@exampel.com")
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [wrong]).status_code == 200
    drain(plumb, smtp_outbox)
    with plumb.db.transaction() as session:
        assert session.scalars(select(OutboxMessage.status).where(OutboxMessage.topic == INVITATION_TOPIC,
                                                                  OutboxMessage.status == "dead")).all() == ["dead"]
    fixed = {**wrong, "email": "e3@example.com"}
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, [fixed]).status_code == 200
    drain(plumb, smtp_outbox)
    [mail] = to(fake_smtp.received(), "e3@example.com")
    assert "Invite code:" in mail["message"].get_content()
    # The line of messages carries no address in clear.
    with plumb.db.transaction() as session:
        lines = session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.topic == INVITATION_TOPIC)).all()
    assert not any("@" in line for line in lines)


# ---- notification emails -----------------------------------------------------------------------------------------

def test_a_notification_email_reaches_the_users_current_address_in_utf8(app, client, plumb, world, fake_smtp,
                                                                        smtp_outbox):
    message_id = enqueue_email(plumb, PARTICIPANT_EMAIL, subject="Aportación registrada",
                               text="Su aportación de $123.45 quedó registrada.\n")
    drain(plumb, smtp_outbox)
    [mail] = to(fake_smtp.received(), PARTICIPANT_EMAIL)
    assert mail["mail_from"] == "no-reply@plumb.test"
    assert mail["message"]["Subject"] == "Aportación registrada"
    assert mail["message"].get_content().replace("\r\n", "\n") == "Su aportación de $123.45 quedó registrada.\n"
    assert message_id in mail["message"]["Message-ID"]
    assert max(mail["data"]) < 0x80  # 7-bit on the wire: no server needs 8BITMIME
    assert outbox_row(plumb, message_id).status == "delivered"


def test_a_user_with_a_changed_address_gets_the_email_at_the_new_one_and_a_disabled_user_gets_none(
        app, client, plumb, world, fake_smtp, smtp_outbox):
    participant = user_id(plumb, PARTICIPANT_EMAIL)
    first = enqueue_email(plumb, PARTICIPANT_EMAIL)
    with plumb.db.transaction() as session:
        session.execute(update(User).where(User.id == participant).values(email="maria.new@example.com"))
    drain(plumb, smtp_outbox)
    assert [r["rcpt_tos"] for r in fake_smtp.received()] == [["maria.new@example.com"]]
    fake_smtp.answer()
    second = enqueue_email(plumb, "maria.new@example.com")
    with plumb.db.transaction() as session:
        session.execute(update(User).where(User.id == participant).values(disabled=True))
    drain(plumb, smtp_outbox)
    assert fake_smtp.received() == []
    assert [outbox_row(plumb, m).status for m in (first, second)] == ["delivered", "delivered"]


def test_an_address_that_would_add_a_header_is_dead_at_once_and_reaches_no_server(app, client, plumb, world,
                                                                                  fake_smtp, smtp_outbox):
    with plumb.db.transaction() as session:
        session.execute(update(User).where(User.email == PARTICIPANT_EMAIL)
                        .values(email="e1@phone.example.com\r\nBcc: everyone@example.com"))
    message_id = enqueue_email(plumb, "e1@phone.example.com\r\nBcc: everyone@example.com")
    drain(plumb, smtp_outbox)
    row = outbox_row(plumb, message_id)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "an email goes to one plain address")
    assert fake_smtp.received() == []


def test_a_busy_mailbox_451_is_tried_again_and_then_delivered(app, client, plumb, world, fake_smtp, smtp_outbox):
    fake_smtp.answer(**{PARTICIPANT_EMAIL: {"code": 451, "times": 1}})
    message_id = enqueue_email(plumb, PARTICIPANT_EMAIL)
    smtp_outbox.run_once()
    waiting = outbox_row(plumb, message_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error == "SMTP 451 4.3.0 recipient"  # the reply echoed the address; the record does not
    drain(plumb, smtp_outbox)
    assert outbox_row(plumb, message_id).status == "delivered"
    assert len(to(fake_smtp.received(), PARTICIPANT_EMAIL)) == 1


def test_a_refused_mailbox_550_is_dead_at_once_and_does_not_hold_up_the_next_email_to_another_user(
        app, client, plumb, world, fake_smtp, smtp_outbox):
    fake_smtp.answer(**{PARTICIPANT_EMAIL: 550})
    refused = enqueue_email(plumb, PARTICIPANT_EMAIL)
    other = enqueue_email(plumb, SPONSOR_EMAIL, subject="3 elections await approval", text="Three elections wait.\n")
    drain(plumb, smtp_outbox)
    dead = outbox_row(plumb, refused)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 1, "SMTP 550 5.1.1 recipient")
    assert outbox_row(plumb, other).status == "delivered"
    assert [r["rcpt_tos"] for r in fake_smtp.received()] == [[SPONSOR_EMAIL]]


def test_an_smtp_server_that_cannot_be_reached_keeps_the_email_for_a_later_try(app, client, plumb, world,
                                                                               smtp_config):
    closed = dataclasses.replace(smtp_config, smtp_port=free_port())
    deliverers = wiring.deliverers(plumb.db, plumb.vault, plumb.payroll_adapters, closed.instance_dir,
                                   plumb.push_sender, email_sender(closed))
    dispatcher = Dispatcher(plumb.db, deliverers, base_delay=0)
    message_id = enqueue_email(plumb, PARTICIPANT_EMAIL)
    dispatcher.run_once()
    dispatcher.close()
    row = outbox_row(plumb, message_id)
    assert (row.status, row.last_error) == ("pending", "connect: connection refused")


# ---- STARTTLS and login ------------------------------------------------------------------------------------------

@pytest.fixture
def secure_smtp(tmp_path, tls_certificate):
    cert, key = tls_certificate
    fake = FakeSmtp(tmp_path).start(tls_cert=cert, tls_key=key, login="plumb-relay:s3cret-relay-password")
    yield fake
    fake.stop()


def test_starttls_and_login_work_through_smtplib_with_the_servers_certificate_trusted_by_smtp_ca_file(
        app, client, plumb, world, secure_smtp, tls_certificate, caplog):
    caplog.set_level(logging.DEBUG)
    config = dataclasses.replace(plumb.config, smtp_host="127.0.0.1", smtp_port=secure_smtp.smtp_port,
                                 smtp_security="starttls", smtp_username="plumb-relay",
                                 smtp_password="s3cret-relay-password", smtp_ca_file=tls_certificate[0],
                                 email_from="Plumb <no-reply@plumb.test>")
    sender = email_sender(config)
    assert isinstance(sender, SmtpSender)
    message_id = enqueue_email(plumb, PARTICIPANT_EMAIL)
    deliverers = wiring.deliverers(plumb.db, plumb.vault, plumb.payroll_adapters, config.instance_dir,
                                   plumb.push_sender, sender)
    dispatcher = Dispatcher(plumb.db, deliverers, base_delay=0)
    drain(plumb, dispatcher)
    dispatcher.close()
    [mail] = secure_smtp.received()
    assert (mail["tls"], mail["login"], mail["rcpt_tos"]) == (True, "plumb-relay", [PARTICIPANT_EMAIL])
    assert outbox_row(plumb, message_id).status == "delivered"
    # The password shows nowhere an operator looks.
    for shown in (repr(config), repr(sender), sender.describe(), caplog.text):
        assert "s3cret-relay-password" not in shown


@pytest.mark.parametrize("settings, failure", [
    ({"smtp_password": "wrong-password"}, "login: SMTP 535 5.7.8"),
    ({"smtp_ca_file": ""}, "STARTTLS: server certificate not trusted"),
    ({"smtp_security": "none"}, "login: not offered by the server"),
], ids=["wrong password", "untrusted certificate", "no STARTTLS asked"])
def test_a_refused_login_or_an_untrusted_certificate_sends_nothing_and_keeps_the_email_for_later(
        app, client, plumb, world, secure_smtp, tls_certificate, settings, failure):
    config = dataclasses.replace(plumb.config, smtp_host="127.0.0.1", smtp_port=secure_smtp.smtp_port,
                                 smtp_security="starttls", smtp_username="plumb-relay",
                                 smtp_password="s3cret-relay-password", smtp_ca_file=tls_certificate[0])
    config = dataclasses.replace(config, **settings)
    deliverers = wiring.deliverers(plumb.db, plumb.vault, plumb.payroll_adapters, config.instance_dir,
                                   plumb.push_sender, email_sender(config))
    dispatcher = Dispatcher(plumb.db, deliverers, base_delay=0)
    message_id = enqueue_email(plumb, PARTICIPANT_EMAIL)
    dispatcher.run_once()
    dispatcher.close()
    row = outbox_row(plumb, message_id)
    assert (row.status, row.last_error) == ("pending", failure)
    assert secure_smtp.received() == []


# ---- without an SMTP host ----------------------------------------------------------------------------------------

def test_without_an_smtp_host_each_email_is_a_private_file_and_the_log_names_only_the_file(app, client, plumb, world,
                                                                                           caplog):
    assert isinstance(plumb.email_sender, FileEmailSender)
    caplog.set_level(logging.DEBUG)
    message_id = enqueue_email(plumb, PARTICIPANT_EMAIL, text="Your contribution of $123.45 was posted.\n")
    drain(plumb)
    folder = messages_dir(plumb.config.instance_dir)
    [path] = folder.glob(f"*-{message_id}.txt")
    text = path.read_text()
    assert f"To: {PARTICIPANT_EMAIL}\n" in text and "Subject: Contribution posted\n" in text
    assert text.endswith("\n\nYour contribution of $123.45 was posted.\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert f"email written to {path.name}" in caplog.text
    assert PARTICIPANT_EMAIL not in caplog.text and "123.45" not in caplog.text


def test_the_server_says_at_start_which_email_sender_it_uses(plumb, smtp_config, caplog):
    caplog.set_level(logging.INFO, logger="backend.wiring")
    for config, said in ((dataclasses.replace(smtp_config, smtp_host=""), "email not sent: no SMTP host"),
                         (smtp_config, f"email through SMTP at 127.0.0.1:{smtp_config.smtp_port} (none)")):
        caplog.clear()
        started = wiring.bootstrap(config)
        started.db.engine.dispose()
        assert said in caplog.text
