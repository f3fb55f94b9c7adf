"""The shapes of the feed and device endpoints (the same for the phone and for staff)."""
from marshmallow import fields, validate

from backend.web.schema import Schema
from notifications.models import PLATFORMS


class DeviceIn(Schema):
    """A device to push to: its FCM token and what the texts need (platform, app version, locale, time zone)."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=4096),
                          metadata={"description": "The FCM registration token of this app install."})
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    app_version = fields.String(load_default=None, validate=validate.Length(max=32))
    locale = fields.String(load_default=None, validate=validate.Length(max=35),
                           metadata={"description": "BCP 47, e.g. en-US or es-MX."})
    time_zone = fields.String(load_default=None, validate=validate.Length(max=64),
                              metadata={"description": "IANA name, e.g. America/Chicago."})


class DeviceOut(Schema):
    """A registered device (its token is not echoed back)."""

    id = fields.String()
    platform = fields.String()
    app_version = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    time_zone = fields.String(allow_none=True)
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()


class NotificationOut(Schema):
    """One entry of the feed."""

    id = fields.String()
    category = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String(metadata={"description": "The feed's text (may carry amounts; the push never does)."})
    deep_link = fields.Dict(metadata={"description": "The app screen it opens, with the ids it needs."})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class FeedPage(Schema):
    """One page of the feed, newest first; follow next_cursor for older entries."""

    data = fields.List(fields.Nested(NotificationOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as `cursor` for the next page; "
                                                                          "null at the end."})
    unread_count = fields.Integer(metadata={"description": "Unread entries in the whole feed, not this page."})


class ReadAllOut(Schema):
    """What marking the whole feed read did."""

    marked = fields.Integer(metadata={"description": "How many entries were unread."})
    unread_count = fields.Integer()


class QuietHours(Schema):
    """Hours of the day (in your time zone) when pushes wait; legal notices and security alerts do not."""

    enabled = fields.Boolean()
    start = fields.String(metadata={"description": "HH:MM, e.g. 21:00."})
    end = fields.String(metadata={"description": "HH:MM, e.g. 08:00 (before start: the hours cross midnight)."})


class CategoryChoice(Schema):
    """Whether one category of notifications reaches you by push and by email (the feed always has it)."""

    category = fields.String()
    mutable = fields.Boolean(metadata={"description": "False for legal notices and security alerts."})
    urgent = fields.Boolean(metadata={"description": "True when it is pushed even in quiet hours."})
    push = fields.Boolean()
    email = fields.Boolean()


class NotificationSettingsOut(Schema):
    """How you are told: what you chose, or the defaults in force."""

    language = fields.String(metadata={"description": "en or es: the language of your notifications."})
    language_chosen = fields.Boolean(metadata={"description": "False: it follows your latest device's locale."})
    time_zone = fields.String(metadata={"description": "IANA name; your quiet hours are in it."})
    time_zone_chosen = fields.Boolean(metadata={"description": "False: your latest device's, else the default."})
    quiet_hours = fields.Nested(QuietHours)
    categories = fields.List(fields.Nested(CategoryChoice))


class QuietHoursIn(Schema):
    """Quiet hours to change: any of enabled, start and end."""

    enabled = fields.Boolean()
    start = fields.String(metadata={"description": "HH:MM"})
    end = fields.String(metadata={"description": "HH:MM"})


class CategoryChoiceIn(Schema):
    """One category to change: true lets it reach you on that channel, false mutes it there."""

    category = fields.String(required=True)
    push = fields.Boolean(load_default=None)
    email = fields.Boolean(load_default=None)


class NotificationSettingsIn(Schema):
    """The settings to change; any left out stay as they are. null for language or time zone goes back to
    following your device."""

    language = fields.String(allow_none=True, metadata={"description": "en or es"})
    time_zone = fields.String(allow_none=True, metadata={"description": "IANA name, e.g. America/Chicago"})
    quiet_hours = fields.Nested(QuietHoursIn)
    categories = fields.List(fields.Nested(CategoryChoiceIn))
