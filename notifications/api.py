"""The notification feed and devices over HTTP for staff (/v1/me/notifications, /v1/me/devices, here); the phone's
are in mobile_api. One service behind both, each caller sees only their own entries and devices. Staff register
devices too: sponsors and advisors are pushed to (approvals, warnings) as well as emailed."""
from flask.views import MethodView

from backend.identity import policy
from backend.web import context
from backend.web.pagination import PageArgs, paginate
from backend.web.smorest import Blueprint
from notifications import service
from notifications.schemas import DeviceIn, DeviceOut, FeedPage, NotificationOut, ReadAllOut

blp = Blueprint("notifications", __name__, url_prefix="/v1/me",
                description="Your notification feed and devices (sponsors, advisors, the platform).")


def feed_page(args) -> dict:
    """The caller's feed page (mobile_api/api.py has the same three calls: blueprints do not import each other)."""
    session, user_id = context.session(), context.principal().user_id
    rows, cursor = paginate(session, service.feed_query(user_id), service.FEED_ORDER, args["limit"], args["cursor"],
                            service.feed_key, descending=True)
    return {"data": rows, "next_cursor": cursor, "unread_count": service.unread_count(session, user_id)}


@blp.route("/notifications")
class Feed(MethodView):
    @blp.requires(policy.STAFF_FEED)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, FeedPage)
    def get(self, args):
        """Your notifications, newest first (paginated), with how many are unread."""
        return feed_page(args)


@blp.route("/notifications/<notification_id>/read")
class ReadOne(MethodView):
    @blp.requires(policy.STAFF_FEED)
    @blp.answers(404, "No such notification in your feed.")
    @blp.response(200, NotificationOut)
    def post(self, notification_id):
        """Mark one notification read (marking it again changes nothing)."""
        return service.mark_read(context.session(), context.principal().user_id, notification_id)


@blp.route("/notifications/read-all")
class ReadAll(MethodView):
    @blp.requires(policy.STAFF_FEED)
    @blp.response(200, ReadAllOut)
    def post(self):
        """Mark every notification in your feed read."""
        return service.mark_all_read(context.session(), context.principal().user_id)


@blp.route("/devices")
class Devices(MethodView):
    @blp.requires(policy.STAFF_DEVICES)
    @blp.arguments(DeviceIn)
    @blp.response(200, DeviceOut)
    def post(self, body):
        """Register this device's push token for your account (again after the app refreshes it; a token another
        user registered moves to you, with the new details)."""
        device, _created = service.register_device(context.session(), context.principal().user_id, body["token"],
                                                   body["platform"], body["app_version"], body["locale"],
                                                   body["time_zone"])
        return device


@blp.route("/devices/<token_or_id>")
class Device(MethodView):
    @blp.requires(policy.STAFF_DEVICES)
    @blp.answers(404, "No such device of yours.")
    @blp.response(204)
    def delete(self, token_or_id):
        """Stop pushes to one of your devices (named by its id or its token), when you sign out on it."""
        service.remove_device(context.session(), context.principal().user_id, token_or_id)
