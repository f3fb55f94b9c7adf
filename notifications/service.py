"""The feed and devices: `notify` stores a feed entry and queues its push in the caller's transaction (so the cause,
the entry and the push stand or fall together, and a failed push never loses the entry); the triggers that turn
domain events into notifications; registering devices; reading and marking the feed."""
from collections.abc import Mapping
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db import insert_unless_held, new_id, utcnow
from backend.enrollment.models import MONEY_TYPES, DeferralElection
from backend.errors import NotFound
from backend.events import ElectionApproved, ElectionRejected, PayRunPosted
from backend.identity.models import User
from backend.outbox import enqueue
from backend.payroll.models import PayRun, PayStatement
from notifications import templates
from notifications.models import Device, Notification

PUSH_TOPIC = "notification.push"


def recipient(user_id: str) -> str:
    """The outbox line of a user's pushes: one user's pushes go out in the order they were caused."""
    return f"user/{user_id}"


def notify(session: Session, user_id: str, kind: str, params: Mapping, subject_id: str | None = None) -> Notification:
    """Store a feed entry for `user_id` and queue its push, in the caller's transaction. The push's payload holds
    the lock-screen texts only (title and push text, which never carry an amount, an SSN or a birth date: see
    templates.py), the kind and the deep link; the feed's text, which may carry amounts, stays in the feed."""
    texts = templates.render(kind, params)
    entry = Notification(user_id=user_id, category=texts.category, kind=kind, subject_id=subject_id,
                         title=texts.title, body=texts.feed, deep_link=texts.deep_link)
    session.add(entry)
    session.flush()
    enqueue(session, PUSH_TOPIC, recipient(user_id),
            {"notification_id": entry.id, "kind": kind, "title": texts.title, "text": texts.push,
             "link": texts.deep_link}, subject_id=entry.id)
    return entry


def _participant_user(session: Session, employee_id: str) -> User | None:
    """The participant's account, if they have signed up (no account: nobody to tell)."""
    return session.scalar(select(User).where(User.employee_id == employee_id, User.disabled.is_(False)))


# ---- triggers (subscribed in backend/wiring.py) ---------------------------------------------------------------------

def tell_election_approved(session: Session, event: ElectionApproved) -> None:
    """The participant hears their election was approved."""
    user = _participant_user(session, event.employee_id)
    if user is None:
        return
    election = session.get(DeferralElection, event.election_id)
    notify(session, user.id, "election_approved", {"election_id": election.id, "version": election.version},
           subject_id=election.id)


def tell_election_rejected(session: Session, event: ElectionRejected) -> None:
    """The participant hears their election was not approved, and why."""
    user = _participant_user(session, event.employee_id)
    if user is None:
        return
    election = session.get(DeferralElection, event.election_id)
    notify(session, user.id, "election_rejected", {"election_id": election.id, "version": election.version,
                                                   "reason": election.rejection_reason}, subject_id=election.id)


def tell_contributions_posted(session: Session, event: PayRunPosted) -> None:
    """Each signed-up participant with a deferral posted in this pay run hears of it once (a payroll exception's
    resolution publishes PayRunPosted again for the same run: a statement already told is not told again)."""
    run = session.get(PayRun, event.pay_run_id)
    statements = session.execute(
        select(PayStatement, User.id).join(User, User.employee_id == PayStatement.employee_id)
        .where(PayStatement.pay_run_id == run.id, PayStatement.status == "posted",
               User.disabled.is_(False))).all()
    told = set(session.scalars(select(Notification.subject_id).where(
        Notification.kind == "contribution_posted",
        Notification.subject_id.in_([st.id for st, _ in statements] or [""]))))
    for statement, user_id in statements:
        deferral = sum(statement.withholdings.get(t, 0) for t in MONEY_TYPES)
        if statement.id in told or deferral + statement.employer_match_cents <= 0:
            continue
        notify(session, user_id, "contribution_posted",
               {"pay_run_id": run.id, "pay_date": _us_date(run.pay_date), "deferral_cents": deferral,
                "match_cents": statement.employer_match_cents}, subject_id=statement.id)


def _us_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


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
