"""Handing queued pushes to the users' devices: the outbox deliverer of `notification.push`.

The feed entry was stored with its cause; this only sends. Each of the user's devices gets the push (title, text,
and a data payload naming the kind, the feed entry and the deep link to its screen). The dispatcher hands over a
load of claimed pushes at once (`deliver_pushes`), so the devices of up to 500 users are read in one query and
their pushes go to FCM together (send_each takes 500 a call); each push's outcome is still its own. A token FCM
reports gone is removed. FCM asking to wait (quota, unavailable) makes that push alone try again later, through
the outbox's backoff: the user's devices that had it already may then get it twice, which a push tolerates better
than never."""
import json
from collections import defaultdict

from sqlalchemy import delete, select

from backend.db import Database, any_of
from backend.outbox import Delivery, Message
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
        return Delivery(False, "FCM refused the push", permanent=True)
    gone = sum(outcome.status == TOKEN_GONE for outcome in outcomes)
    return Delivery(True, f"{gone} device(s) gone" if gone else None)
