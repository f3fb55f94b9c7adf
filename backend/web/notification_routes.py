"""The notification routes both audiences share: devices, the feed (read one, read all) and one's notification
settings. `add_notification_routes` adds them to a blueprint under the ability that blueprint requires, so the phone
(/mobile/v1, participants: mobile_api) and staff (/v1, sponsors and advisors: notifications/api.py) answer alike from
one definition. Each caller sees and changes only their own."""
from flask.views import MethodView

from backend.identity import policy
from backend.web import context
from backend.web.pagination import PageArgs, paginate
from backend.web.smorest import Blueprint
from notifications import preferences, service
from notifications.schemas import (DeviceIn, DeviceOut, FeedPage, NotificationOut, NotificationSettingsIn,
                                   NotificationSettingsOut, ReadAllOut)


def add_notification_routes(blp: Blueprint, ability: policy.Ability, devices: str) -> None:
    """`devices` (and one device under it), /me/notifications (with read and read-all) and
    /me/notification-settings on `blp`."""

    @blp.route(devices)
    class Devices(MethodView):
        @blp.requires(ability)
        @blp.response(200, DeviceOut(many=True))
        def get(self):
            """Your devices that get pushes, oldest first (their tokens are not shown): where you are signed in,
            so you can stop one."""
            return service.devices_of(context.session(), context.principal().user_id)

        @blp.requires(ability)
        @blp.arguments(DeviceIn)
        @blp.response(200, DeviceOut)
        def post(self, body):
            """Register this device's push token (again after the app refreshes it, or after another user signed
            out on it: the token then moves to you, with the new details)."""
            device, _created = service.register_device(
                context.session(), context.principal().user_id, body["token"], body["platform"], body["app_version"],
                body["locale"], body["time_zone"])
            return device

    @blp.route(devices + "/<token_or_id>")
    class Device(MethodView):
        @blp.requires(ability)
        @blp.answers(404, "No such device of yours.")
        @blp.response(204)
        def delete(self, token_or_id):
            """Stop pushes to one of your devices (named by its id or its token), when you sign out on it."""
            service.remove_device(context.session(), context.principal().user_id, token_or_id)

    @blp.route("/me/notifications")
    class Feed(MethodView):
        @blp.requires(ability)
        @blp.arguments(PageArgs, location="query")
        @blp.response(200, FeedPage)
        def get(self, args):
            """Your notifications, newest first (paginated), with how many are unread."""
            session, user_id = context.session(), context.principal().user_id
            rows, cursor = paginate(session, service.feed_query(user_id), service.FEED_ORDER, args["limit"],
                                    args["cursor"], service.feed_key, descending=True)
            return {"data": rows, "next_cursor": cursor, "unread_count": service.unread_count(session, user_id)}

    @blp.route("/me/notifications/<notification_id>/read")
    class ReadOne(MethodView):
        @blp.requires(ability)
        @blp.answers(404, "No such notification in your feed.")
        @blp.response(200, NotificationOut)
        def post(self, notification_id):
            """Mark one notification read (marking it again changes nothing)."""
            return service.mark_read(context.session(), context.principal().user_id, notification_id)

    @blp.route("/me/notifications/read-all")
    class ReadAll(MethodView):
        @blp.requires(ability)
        @blp.response(200, ReadAllOut)
        def post(self):
            """Mark every notification in your feed read."""
            return service.mark_all_read(context.session(), context.principal().user_id)

    @blp.route("/me/notification-settings")
    class Settings(MethodView):
        @blp.requires(ability)
        @blp.response(200, NotificationSettingsOut)
        def get(self):
            """Your language, time zone, quiet hours, and which categories reach you by push and by email."""
            return preferences.settings_view(context.session(), context.principal().user_id)

        @blp.requires(ability)
        @blp.arguments(NotificationSettingsIn)
        @blp.response(200, NotificationSettingsOut)
        def patch(self, body):
            """Change any of your settings; what you leave out stays. Legal notices and security alerts cannot be
            turned off, and they reach you even in quiet hours."""
            return preferences.update_settings(context.session(), context.principal().user_id, body)
