"""Authentication endpoints shared by every kind of user (/v1/auth)."""
from flask.views import MethodView

from backend.identity import policy, service
from backend.identity.models import User
from backend.identity.schemas import AcceptInvitationRequest, LoginRequest, RefreshRequest, TokenResponse, UserOut
from backend.web import context
from backend.web.smorest import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/v1/auth", description="Log in, rotate tokens, log out.")
PUBLIC = {"security": []}
# The per-client limits of backend/web/limits.py, attached by the app factory to these endpoints.
CLIENT_LIMITED = "Too many requests from this client: wait as Retry-After says."


@blp.route("/login")
class Login(MethodView):
    @blp.doc(**PUBLIC)
    @blp.answers(401, "The email or password is wrong.")
    @blp.answers(429, "Too many failed logins for this account: wait as Retry-After says.")
    @blp.answers(429, CLIENT_LIMITED)
    @blp.arguments(LoginRequest)
    @blp.response(200, TokenResponse)
    def post(self, body):
        """Log in with email and password; repeated failures are throttled (429 with Retry-After)."""
        return service.login(context.session(), context.config(), body["email"], body["password"], context.client_ip())


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.doc(**PUBLIC)
    @blp.answers(401, "The refresh token is not valid, or was spent already (which ends the whole session).")
    @blp.answers(429, CLIENT_LIMITED)
    @blp.arguments(RefreshRequest)
    @blp.response(200, TokenResponse)
    def post(self, body):
        """Spend a refresh token for a new pair. Reusing a spent token ends the whole session."""
        return service.refresh(context.session(), context.config(), body["refresh_token"])


@blp.route("/logout")
class Logout(MethodView):
    @blp.requires(policy.SIGNED_IN)
    @blp.response(204)
    def post(self):
        """End this session: its refresh tokens and access tokens stop working."""
        service.logout(context.session(), context.session_id())


@blp.route("/me")
class Me(MethodView):
    @blp.requires(policy.SIGNED_IN)
    @blp.response(200, UserOut)
    def get(self):
        """The logged-in user."""
        return context.session().get(User, context.principal().user_id)


@blp.route("/invitations/accept")
class AcceptInvitation(MethodView):
    @blp.doc(**PUBLIC)
    @blp.answers(404, "This invitation does not exist, has expired or was already used.")
    @blp.answers(429, CLIENT_LIMITED)
    @blp.arguments(AcceptInvitationRequest)
    @blp.response(201, TokenResponse)
    def post(self, body):
        """Accept a sponsor-admin invitation: set a password and get logged in."""
        return service.accept_invitation(context.session(), context.config(), body["token"], body["password"])
