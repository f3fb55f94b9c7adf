"""How each user wants to be told: language, time zone, quiet hours and muted categories per channel, and the pure
rule that decides when a push may go out.

Defaults (no stored row): the language and time zone of the user's latest device (else English and
`DEFAULT_TIME_ZONE`), no quiet hours (turned on, they run from 21:00 to 08:00 local time unless the user chooses
other times), nothing muted. Legal notices and security alerts
cannot be muted and ignore quiet hours (templates.CATEGORIES says which categories those are)."""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import any_of
from backend.errors import ValidationFailed
from backend.identity.service import Account, accounts
from notifications.models import Device, NotificationSettings
from notifications.templates import CATEGORIES, CHANNELS, LANGUAGES, language_of

DEFAULT_TIME_ZONE = "America/New_York"
DEFAULT_QUIET_START, DEFAULT_QUIET_END = time(21, 0), time(8, 0)


@dataclass(frozen=True)
class Reach:
    """Everything `notify` needs to know about one recipient, read in one batch for many."""

    account: Account
    language: str
    time_zone: str
    quiet: tuple[time, time] | None
    muted: frozenset[str]
    has_device: bool

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def is_staff(self) -> bool:
        return self.account.role != "participant"

    def wants(self, category: str, channel: str) -> bool:
        """Whether this user takes `category` on `channel` (a category they may not mute: always)."""
        return not CATEGORIES[category].mutable or f"{category}/{channel}" not in self.muted


def reach_of(session: Session, user_ids: Iterable[str]) -> dict[str, Reach]:
    """The reach of every enabled user among `user_ids`, in three queries whatever their number."""
    found = accounts(session, user_ids)
    if not found:
        return {}
    ids = list(found)
    # Plain rows, not objects: a pay run reads ten thousand recipients at once.
    table = NotificationSettings.__table__.c
    settings = {row.user_id: row for row in session.execute(
        select(table.user_id, table.language, table.time_zone, table.quiet_hours, table.quiet_start, table.quiet_end,
               table.muted).where(any_of(session, table.user_id, ids)))}
    devices = Device.__table__.c
    latest = {}
    for row in session.execute(select(devices.user_id, devices.locale, devices.time_zone)
                               .where(any_of(session, devices.user_id, ids)).order_by(devices.last_seen_at)):
        latest[row.user_id] = row  # the last one seen wins
    reach = {}
    for user_id, account in found.items():
        s, device = settings.get(user_id), latest.get(user_id)
        language = (s.language if s is not None and s.language else language_of(device.locale if device else None))
        zone = (s.time_zone if s is not None and s.time_zone else
                device.time_zone if device is not None and _known_zone(device.time_zone) else DEFAULT_TIME_ZONE)
        quiet = (s.quiet_start, s.quiet_end) if s is not None and s.quiet_hours else None
        reach[user_id] = Reach(account, language, zone, quiet, frozenset(s.muted or ()) if s else frozenset(),
                               device is not None)
    return reach


def quiet_until(now: datetime, time_zone: str, quiet: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours that `now` falls in end (UTC), or None when `now` is not in quiet hours.

    The hours are wall-clock times in the user's zone, so they follow daylight-saving changes: quiet hours from
    21:00 to 08:00 in New York end at 13:00 UTC in winter and 12:00 UTC in summer, and on the night the clocks
    change they end at 08:00 local all the same (the night is an hour shorter or longer). An end that falls in the
    hour skipped in spring is read with the offset before the change, so it lands just after the gap."""
    if quiet is None or quiet[0] == quiet[1]:
        return None
    start, end = quiet
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 13:00–15:00, within one day
        if not start <= clock < end:
            return None
        end_day = local.date()
    else:  # e.g. 21:00–08:00, across midnight
        if end <= clock < start:
            return None
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(timezone.utc)


@cache
def _known_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# ---- reading and changing one's settings ----------------------------------------------------------------------------

def settings_view(session: Session, user_id: str) -> dict:
    """The user's settings as the API shows them: what is stored, or the defaults in force."""
    reach = reach_of(session, [user_id])[user_id]
    stored = session.get(NotificationSettings, user_id)
    # Quiet hours turned off keep their times, so turning them on again restores them.
    start, end = (stored.quiet_start, stored.quiet_end) if stored else (DEFAULT_QUIET_START, DEFAULT_QUIET_END)
    return {
        "language": reach.language, "language_chosen": bool(stored and stored.language),
        "time_zone": reach.time_zone, "time_zone_chosen": bool(stored and stored.time_zone),
        "quiet_hours": {"enabled": reach.quiet is not None, "start": start.strftime("%H:%M"),
                        "end": end.strftime("%H:%M")},
        "categories": [{"category": c.name, "mutable": c.mutable, "urgent": c.urgent,
                        **{channel: reach.wants(c.name, channel) for channel in CHANNELS}}
                       for c in CATEGORIES.values()],
    }


def update_settings(session: Session, user_id: str, changes: Mapping) -> dict:
    """Apply the changes given (any of language, time_zone, quiet_hours, categories); every problem is listed and
    nothing is stored unless all of them are right."""
    problems: list[tuple[str, str]] = []
    if changes.get("language") is not None and changes["language"] not in LANGUAGES:
        problems.append(("language", f"must be one of {', '.join(LANGUAGES)}"))
    if changes.get("time_zone") is not None and changes["time_zone"] not in available_timezones():
        problems.append(("time_zone", "is not a time zone name (IANA, e.g. America/Chicago)"))
    quiet = changes.get("quiet_hours") or {}
    times = {}
    for key in ("start", "end"):
        if quiet.get(key) is not None:
            try:
                times[key] = time.fromisoformat(quiet[key])
            except ValueError:
                problems.append((f"quiet_hours.{key}", "must be a time of day, HH:MM"))
    for i, change in enumerate(changes.get("categories") or []):
        category = CATEGORIES.get(change["category"])
        if category is None:
            problems.append((f"categories.{i}.category", f"unknown category {change['category']!r}"))
        elif not category.mutable and not all(change.get(ch, True) for ch in CHANNELS):
            problems.append((f"categories.{i}.category",
                             f"{category.name} are notices you must receive; they cannot be turned off"))
    if problems:
        raise ValidationFailed(problems)

    stored = session.get(NotificationSettings, user_id)
    if stored is None:
        stored = NotificationSettings(user_id=user_id, quiet_hours=False, quiet_start=DEFAULT_QUIET_START,
                                      quiet_end=DEFAULT_QUIET_END, muted=[])
        session.add(stored)
    if "language" in changes:
        stored.language = changes["language"]
    if "time_zone" in changes:
        stored.time_zone = changes["time_zone"]
    if "enabled" in quiet:
        stored.quiet_hours = bool(quiet["enabled"])
    stored.quiet_start = times.get("start", stored.quiet_start)
    stored.quiet_end = times.get("end", stored.quiet_end)
    muted = set(stored.muted or ())
    for change in changes.get("categories") or []:
        for channel in CHANNELS:
            if channel in change and change[channel] is not None:
                (muted.discard if change[channel] else muted.add)(f"{change['category']}/{channel}")
    stored.muted = sorted(muted)
    session.flush()
    return settings_view(session, user_id)
