"""The feed and devices: `notify` stores a feed entry and queues its push and email in the caller's transaction (so
the cause, the entry and its messages stand or fall together, and a failed push never loses the entry); the
triggers that turn domain events into notifications; registering devices; reading and marking the feed."""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db import bulk_insert, insert_unless_held, new_id, utcnow
from backend.errors import NotFound
from backend.events import ElectionApproved, ElectionRejected, PayRunPosted
from backend.identity.service import participant_accounts
from backend.outbox import enqueue_many
from backend.payroll.pay_history import posted_statements
from notifications import templates
from notifications.email import EMAIL_TOPIC
from notifications.models import Device, Notification
from notifications.preferences import Reach, quiet_until, reach_of

PUSH_TOPIC = "notification.push"


def recipient(user_id: str, urgent: bool = False) -> str:
    """The outbox line of a user's pushes: one user's pushes go out in the order they were caused. Urgent ones
    (legal notices, security alerts) have a line of their own, so a push held for quiet hours never holds them."""
    return f"user/{user_id}/urgent" if urgent else f"user/{user_id}"


@dataclass(frozen=True)
class Notice:
    """One notification owed to one user: its kind, the template's parameters (JSON values: cents as integers,
    dates as ISO text) and what caused it."""

    user_id: str
    kind: str
    params: Mapping = field(default_factory=dict)
    subject_id: str | None = None


def notify(session: Session, user_id: str, kind: str, params: Mapping,
           subject_id: str | None = None) -> Notification | None:
    """Tell one user (see notify_many); None when the user has no enabled account."""
    entries = notify_many(session, [Notice(user_id, kind, params, subject_id)])
    return entries[0] if entries else None


def notify_many(session: Session, notices: Iterable[Notice]) -> list[Notification]:
    """Store each notice in its user's feed, in the user's language, and queue its messages, in the caller's
    transaction:
    - a push when the user has a device and has not muted the category's pushes; outside urgent categories, a push
      that falls in the user's quiet hours waits in the outbox until they end;
    - an email for staff, and for participants with no device to push to, unless muted.
    The push and email carry the lock-screen texts only (title and push text, which never carry an amount, an SSN
    or a birth date: see templates.py) and the deep link; the feed's text, which may carry amounts, stays in the
    feed. Reading the recipients takes three queries however many notices there are, and storing takes one
    statement for the entries and one for their messages. The entries come back as stored, outside the session
    (read one again to change it)."""
    return [Notification(**entry) for entry in _store(session, notices)]


def _store(session: Session, notices: Iterable[Notice]) -> list[dict]:
    """notify_many's work; the entries stored, as rows (a pay run's trigger, telling thousands, needs no objects)."""
    notices = list(notices)
    reach = reach_of(session, {n.user_id for n in notices})
    now = utcnow()
    entries, messages = [], []
    for notice in notices:
        who = reach.get(notice.user_id)
        if who is None:
            continue
        texts = templates.render(notice.kind, notice.params, who.language)
        entry = {"id": new_id("ntf"), "user_id": who.user_id, "category": texts.category, "kind": notice.kind,
                 "subject_id": notice.subject_id, "title": texts.title, "body": texts.feed,
                 "deep_link": texts.deep_link, "created_at": now, "read_at": None}
        entries.append(entry)
        messages += _messages(who, notice, texts, entry["id"], now)
    # One statement for the entries and one for their messages, however many (a pay run tells thousands at once):
    # the entries first, so no message is ever owed for an entry that is not stored.
    if entries:
        session.flush()
        bulk_insert(session, Notification.__table__, entries)
    enqueue_many(session, messages)
    return entries


def _messages(who: Reach, notice: Notice, texts: templates.Texts, notification_id: str, now) -> list[dict]:
    """The outbox messages one feed entry is owed (enqueue_many's rows): its push, its email, either or none."""
    messages = []
    urgent = templates.CATEGORIES[texts.category].urgent
    if who.has_device and who.wants(texts.category, "push"):
        hold = None if urgent else quiet_until(now, who.time_zone, who.quiet)
        messages.append({"topic": PUSH_TOPIC, "recipient": recipient(who.user_id, urgent),
                         "subject_id": notification_id, "not_before": hold,
                         "payload": {"notification_id": notification_id, "user_id": who.user_id, "kind": notice.kind,
                                     "title": texts.title, "text": texts.push, "link": texts.deep_link}})
    if (who.is_staff or not who.has_device) and who.account.has_email and who.wants(texts.category, "email"):
        # Each email on a line of its own: emails need no order among them, and one that bounced for good (a wrong
        # address, dead in the outbox) must not hold up the next, sent after the address is corrected.
        messages.append({"topic": EMAIL_TOPIC, "recipient": f"email/{who.user_id}/{notification_id}",
                         "subject_id": notification_id,
                         "payload": {"notification_id": notification_id, "user_id": who.user_id, "kind": notice.kind,
                                     "subject": texts.title, "text": texts.email}})
    return messages


def already_told(session: Session, kind: str, subject_ids: Iterable[str]) -> set[str]:
    """Which of these causes have already been told as `kind` (a cause replayed is not told twice)."""
    ids = list(subject_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Notification.subject_id).where(Notification.kind == kind,
                                                                     Notification.subject_id.in_(ids))))


def _participant(session: Session, employee_id: str) -> str | None:
    """The participant's user id, if they have signed up (no account: nobody to tell)."""
    return participant_accounts(session, [employee_id]).get(employee_id)


# ---- triggers (subscribed in backend/wiring.py) ---------------------------------------------------------------------

def tell_election_approved(session: Session, event: ElectionApproved) -> None:
    """The participant hears their election was approved."""
    user_id = _participant(session, event.employee_id)
    if user_id is not None:
        notify(session, user_id, "election_approved", {"election_id": event.election_id},
               subject_id=event.election_id)


def tell_election_rejected(session: Session, event: ElectionRejected) -> None:
    """The participant hears their election was not approved, and why."""
    user_id = _participant(session, event.employee_id)
    if user_id is not None:
        notify(session, user_id, "election_rejected", {"election_id": event.election_id, "reason": event.reason},
               subject_id=event.election_id)


def tell_contributions_posted(session: Session, event: PayRunPosted, part: tuple[int, int] | None = None) -> None:
    """Each signed-up participant with money posted in this pay run hears of it once (a payroll exception's
    resolution publishes PayRunPosted again for the same run: a statement already told is not told again). `part`
    (index, size): only that slice of the run's statements."""
    posted = [c for c in posted_statements(session, event.pay_run_id, part) if c.deferral_cents + c.match_cents > 0]
    users = participant_accounts(session, [c.employee_id for c in posted])
    told = already_told(session, "contribution_posted", [c.statement_id for c in posted if c.employee_id in users])
    _store(session, [
        Notice(users[c.employee_id], "contribution_posted",
               {"pay_run_id": event.pay_run_id, "pay_date": c.pay_date.isoformat(), "deferral_cents": c.deferral_cents,
                "match_cents": c.match_cents}, c.statement_id)
        for c in posted if c.employee_id in users and c.statement_id not in told])


# ---- devices --------------------------------------------------------------------------------------------------------

def register_device(session: Session, user_id: str, token: str, platform: str, app_version: str | None,
                    locale: str | None, time_zone: str | None) -> tuple[Device, bool]:
    """Register a device's token for `user_id`; a token already known (the phone changed hands, or the app
    re-registered) moves to this user with its new details. Returns (device, created)."""
    # Insert-unless-held first: the same new token sent twice at once (an app retrying) makes one row, and the
    # second request waits for the first, then updates the row it made instead of failing on the unique token.
    now = utcnow()
    created = insert_unless_held(session, Device.__table__, id=new_id("dev"), token=token, user_id=user_id,
                                 platform=platform, created_at=now, last_seen_at=now) is not None
    device = session.scalar(select(Device).where(Device.token == token).with_for_update()
                            .execution_options(populate_existing=True))
    device.user_id, device.platform, device.app_version = user_id, platform, app_version
    device.locale, device.time_zone, device.last_seen_at = locale, time_zone, utcnow()
    session.flush()
    return device, created


def remove_device(session: Session, user_id: str, token_or_id: str) -> None:
    """Forget one of the user's devices, named by its id or its token (another user's: not found)."""
    device = session.scalar(select(Device).where(Device.user_id == user_id,
                                                 (Device.id == token_or_id) | (Device.token == token_or_id)))
    if device is None:
        raise NotFound("No such device.")
    session.delete(device)


def devices_of(session: Session, user_id: str) -> list[Device]:
    return list(session.scalars(select(Device).where(Device.user_id == user_id).order_by(Device.created_at)))


# ---- the feed -------------------------------------------------------------------------------------------------------

# Newest first, ties (one transaction's entries) broken by id, so pages neither skip nor repeat an entry.
FEED_ORDER = [Notification.created_at, Notification.id]


def feed_query(user_id: str):
    return select(Notification).where(Notification.user_id == user_id)


def feed_key(entry: Notification) -> list:
    return [entry.created_at.isoformat(), entry.id]


def unread_count(session: Session, user_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def mark_read(session: Session, user_id: str, notification_id: str) -> Notification:
    """Mark one of the user's entries read (again: unchanged); another user's entry is not found."""
    entry = session.get(Notification, notification_id)
    if entry is None or entry.user_id != user_id:
        raise NotFound("No such notification.")
    if entry.read_at is None:
        entry.read_at = utcnow()
    return entry


def mark_all_read(session: Session, user_id: str) -> dict:
    """Mark every unread entry of the user read: how many were unread, and how many are now (none)."""
    marked = session.execute(update(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                             .values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    return {"marked": marked, "unread_count": unread_count(session, user_id)}
