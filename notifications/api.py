"""The notification feed over HTTP: the views shared by the phone (/mobile/v1/me/notifications, in mobile_api) and
staff (/v1/me/notifications, here); one service behind both, each caller sees only their own entries."""
from flask.views import MethodView

from backend.identity import policy
from backend.web import context
from backend.web.pagination import PageArgs, paginate
from backend.web.smorest import Blueprint
from notifications import service
from notifications.schemas import FeedPage, NotificationOut, ReadAllOut

blp = Blueprint("notifications", __name__, url_prefix="/v1/me/notifications",
                description="Your notification feed (sponsors, advisors, the platform).")


def feed_page(args) -> dict:
    """The caller's feed page (mobile_api/api.py has the same three calls: blueprints do not import each other)."""
    session, user_id = context.session(), context.principal().user_id
    rows, cursor = paginate(session, service.feed_query(user_id), service.FEED_ORDER, args["limit"], args["cursor"],
                            service.feed_key, descending=True)
    return {"data": rows, "next_cursor": cursor, "unread_count": service.unread_count(session, user_id)}


@blp.route("")
class Feed(MethodView):
    @blp.requires(policy.STAFF_FEED)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, FeedPage)
    def get(self, args):
        """Your notifications, newest first (paginated), with how many are unread."""
        return feed_page(args)


@blp.route("/<notification_id>/read")
class ReadOne(MethodView):
    @blp.requires(policy.STAFF_FEED)
    @blp.answers(404, "No such notification in your feed.")
    @blp.response(200, NotificationOut)
    def post(self, notification_id):
        """Mark one notification read (marking it again changes nothing)."""
        return service.mark_read(context.session(), context.principal().user_id, notification_id)


@blp.route("/read-all")
class ReadAll(MethodView):
    @blp.requires(policy.STAFF_FEED)
    @blp.response(200, ReadAllOut)
    def post(self):
        """Mark every notification in your feed read."""
        return service.mark_all_read(context.session(), context.principal().user_id)
