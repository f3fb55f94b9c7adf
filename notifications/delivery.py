"""The outbox deliverers of notifications: `notification.push` to the user's devices, `notification.email` to the
user's current address, and the `invitation` messages of backend/plans/invitations.py.

Push: the feed entry was stored with its cause; this only sends. Each of the user's devices gets the push (title,
text, and a data payload naming the kind, the feed entry and the deep link to its screen). The dispatcher hands over
a load of claimed pushes at once (`deliver_pushes`), so the devices of up to 500 users are read in one query and
their pushes go to FCM together (send_each takes 500 a call); each push's outcome is still its own. A token FCM
reports gone is removed. FCM asking to wait (quota, unavailable) makes that push alone try again later, through the
outbox's backoff: the user's devices that had it already may then get it twice, which a push tolerates better than
never.

Email: the address is read when the message is delivered (a user who changed it since gets it at the new one); a
user with none, or disabled, has nothing to receive. The email sender's outcome decides: sent; retry later (4xx,
the server unreachable); dead at once (5xx about the recipient or the message).

Invitations: by email when the invitation has an email address. SMS is not part of this issue: an invitation with
only a phone number is still written as a file under the messages directory (notifications/files.py), where
development and the demo read it; a phone-only employee is not reached by Plumb itself until SMS delivery exists."""
import json
from collections import defaultdict
from pathlib import Path

from sqlalchemy import delete, select

from backend.db import Database, any_of
from backend.identity import service as identity
from backend.outbox import Delivery, Message
from backend.plans.pii import PiiVault
from notifications.email import RETRY_LATER as EMAIL_RETRY_LATER
from notifications.email import SENT, EmailMessage, EmailOutcome, EmailSender
from notifications.files import write_message
from notifications.invitations import render
from notifications.models import Device
from notifications.push import DATA_KIND, DATA_LINK, REFUSED, RETRY_LATER, TOKEN_GONE, PushMessage, PushSender

DATA_NOTIFICATION = "notification_id"


def deliver_push(message: Message, *, db: Database, sender: PushSender) -> Delivery:
    """One push to the user's devices (see deliver_pushes)."""
    return deliver_pushes([message], db=db, sender=sender)[0]


def _user_of(message: Message) -> str:
    return message.payload.get("user_id") or message.recipient.removeprefix("user/").removesuffix("/urgent")


def deliver_pushes(messages: list[Message], *, db: Database, sender: PushSender) -> list[Delivery]:
    """Each push to its user's devices, all in as few FCM calls as the sender needs; one outcome per push, in
    order: delivered (or nothing to deliver to: the feed has it), to retry when FCM asked any of its devices to
    wait, refused for good when FCM refused it on every device."""
    users = {_user_of(message) for message in messages}
    with db.transaction() as session:
        table = Device.__table__
        rows = session.execute(select(table.c.user_id, table.c.token)
                               .where(any_of(session, table.c.user_id, sorted(users)))
                               .order_by(table.c.created_at, table.c.id)).all()
    tokens = defaultdict(list)
    for row in rows:
        tokens[row.user_id].append(row.token)
    pushes, owners = [], []  # owners[i]: the index of the message pushes[i] carries
    for index, message in enumerate(messages):
        payload = message.payload
        data = {DATA_KIND: payload["kind"], DATA_LINK: json.dumps(payload["link"], sort_keys=True),
                DATA_NOTIFICATION: payload["notification_id"]}
        for token in tokens.get(_user_of(message), ()):
            pushes.append(PushMessage(token, payload["title"], payload["text"], data))
            owners.append(index)
    outcomes = sender.send(pushes) if pushes else []
    gone = sorted({outcome.token for outcome in outcomes if outcome.status == TOKEN_GONE})
    if gone:
        with db.transaction() as session:
            session.execute(delete(Device).where(any_of(session, Device.__table__.c.token, gone)))
    by_message = defaultdict(list)
    for owner, outcome in zip(owners, outcomes):
        by_message[owner].append(outcome)
    return [_delivery(by_message.get(index, [])) for index in range(len(messages))]


def _delivery(outcomes: list) -> Delivery:
    """One push's outcome from its devices' answers."""
    if not outcomes:
        return Delivery(True, "no device registered: the feed has it")
    if any(outcome.status == RETRY_LATER for outcome in outcomes):
        return Delivery(False, "FCM asked to try again later")
    if all(outcome.status == REFUSED for outcome in outcomes):
        # Settled, not dead: a dead message would hold back every later push to this user (their line keeps its
        # order), and nobody retries a push. The feed has the notification.
        return Delivery(True, "FCM refused the push on every device: the feed has it")
    gone = sum(outcome.status == TOKEN_GONE for outcome in outcomes)
    return Delivery(True, f"{gone} device(s) gone" if gone else None)


def delivery_of(outcome: EmailOutcome) -> Delivery:
    """An email outcome as the outbox records it (its detail is a classification, never an address)."""
    if outcome.status == SENT:
        return Delivery(True, result={"file": outcome.file} if outcome.file else None)
    return Delivery(False, outcome.detail, permanent=outcome.status != EMAIL_RETRY_LATER)


def _send_email(sender: EmailSender, address: str, subject: str, text: str, reference: str) -> Delivery:
    try:
        email = EmailMessage(address, subject, text, reference)
    except ValueError as error:  # an address or subject that would add headers (a CR/LF) never reaches a server
        return Delivery(False, str(error), permanent=True)
    return delivery_of(sender.send([email])[0])


def deliver_email(message: Message, *, db: Database, sender: EmailSender) -> Delivery:
    """A `notification.email` message (payload: notification_id, user_id, kind, subject, text) to the address the
    user has now."""
    payload = message.payload
    with db.transaction() as session:
        address = identity.email_of(session, payload["user_id"])
    if address is None:
        return Delivery(True, "no email address (or the user is disabled): nothing to send")
    return _send_email(sender, address, payload["subject"], payload["text"], message.id)


def deliver_invitation(message: Message, *, sender: EmailSender, directory: Path, vault: PiiVault) -> Delivery:
    """An `invitation` message: by email to its address, or, with only a phone, written as a file."""
    rendered = render(message.payload, vault)
    email, phone = message.payload["to"].get("email"), message.payload["to"].get("phone")
    if email:
        return _send_email(sender, email, rendered.subject, rendered.body, message.id)
    if phone:
        path = write_message(directory, message.id, [phone], rendered.subject, rendered.body)
        return Delivery(True, "written as a file: SMS is not sent yet", result={"file": path.name})
    return Delivery(False, "the message has no address", permanent=True)
