"""What the phone app needs to know about this server before anyone logs in: today, only whether push is on (the
Firebase web configuration from PLUMB_FIREBASE_WEB_CONFIG, which is public by design: Firebase's web keys identify
the project, they grant nothing). Without it the app uses the notification feed only."""
from flask.views import MethodView
from marshmallow import fields

from backend.web import context
from backend.web.schema import Schema
from backend.web.smorest import Blueprint

blp = Blueprint("app_config", __name__, url_prefix="/v1", description="The phone app's public settings.")


class FirebaseWebConfigOut(Schema):
    """The Firebase web app's configuration (as the Firebase console shows it) and the VAPID key for web push."""

    apiKey = fields.String()
    authDomain = fields.String()
    projectId = fields.String()
    storageBucket = fields.String()
    messagingSenderId = fields.String()
    appId = fields.String()
    measurementId = fields.String()
    vapidKey = fields.String(metadata={"description": "The web push certificate's public key (Cloud Messaging)"})


class AppConfigOut(Schema):
    """The app's public settings."""

    firebase = fields.Nested(FirebaseWebConfigOut, allow_none=True, metadata={
        "description": "null: push is off on this server, the app shows the notification feed only."})


@blp.route("/app-config")
class AppConfig(MethodView):
    @blp.doc(security=[])
    @blp.response(200, AppConfigOut)
    def get(self):
        """The phone app's public settings: the Firebase web configuration when push is on, else null. No token
        needed (the app reads it before log-in)."""
        return {"firebase": context.config().firebase_web_config}
