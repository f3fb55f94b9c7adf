"""Handing a queued push to the user's devices: the outbox deliverer of `notification.push`.

The feed entry was stored with its cause; this only sends. Each of the user's devices gets the push (title, text,
and a data payload naming the kind, the feed entry and the deep link to its screen). A token FCM reports gone is
removed. FCM asking to wait (quota, unavailable) makes the whole message try again later, through the outbox's
backoff: the devices that had it already may then get it twice, which a push tolerates better than never."""
import json

from sqlalchemy import delete

from backend.db import Database
from backend.outbox import Delivery, Message
from notifications.models import Device
from notifications.push import DATA_KIND, DATA_LINK, REFUSED, RETRY_LATER, TOKEN_GONE, PushMessage, PushSender
from notifications.service import devices_of

DATA_NOTIFICATION = "notification_id"


def deliver_push(message: Message, *, db: Database, sender: PushSender) -> Delivery:
    user_id = message.payload.get("user_id") or message.recipient.removeprefix("user/")
    with db.transaction() as session:
        tokens = [device.token for device in devices_of(session, user_id)]
    if not tokens:
        return Delivery(True, "no device registered: the feed has it")
    payload = message.payload
    data = {DATA_KIND: payload["kind"], DATA_LINK: json.dumps(payload["link"], sort_keys=True),
            DATA_NOTIFICATION: payload["notification_id"]}
    outcomes = sender.send([PushMessage(token, payload["title"], payload["text"], data) for token in tokens])
    gone = [outcome.token for outcome in outcomes if outcome.status == TOKEN_GONE]
    if gone:
        with db.transaction() as session:
            session.execute(delete(Device).where(Device.token.in_(gone)))
    if any(outcome.status == RETRY_LATER for outcome in outcomes):
        return Delivery(False, "FCM asked to try again later")
    if all(outcome.status == REFUSED for outcome in outcomes):
        return Delivery(False, "FCM refused the push", permanent=True)
    return Delivery(True, f"{len(gone)} device(s) gone" if gone else None)
