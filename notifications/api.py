"""Staff's notifications over HTTP (/v1): their devices (/v1/me/devices), feed and notification settings; the
routes are shared with the phone's (backend/web/notification_routes.py)."""
from backend.identity import policy
from backend.web.notification_routes import add_notification_routes
from backend.web.smorest import Blueprint

blp = Blueprint("notifications", __name__, url_prefix="/v1",
                description="Your devices, notification feed and notification settings (sponsors, advisors).")
add_notification_routes(blp, policy.STAFF_FEED, devices="/me/devices")
