"""Request and response shapes for logging in, refreshing, logging out and accepting invitations."""
from marshmallow import fields, validate

from backend.web.schema import Schema


class LoginRequest(Schema):
    """Credentials for a login."""

    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=512))


class RefreshRequest(Schema):
    """A refresh token to rotate."""

    refresh_token = fields.String(required=True, validate=validate.Length(min=10, max=512))


class AcceptInvitationRequest(Schema):
    """The invitation token from the email and the password to set."""

    token = fields.String(required=True, validate=validate.Length(min=10, max=512))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=512))


class UserOut(Schema):
    """A user of Plumb."""

    id = fields.String(metadata={"description": "usr_… id"})
    email = fields.String()
    role = fields.String(metadata={"description": "participant, sponsor_admin, advisor or platform_admin"})
    employer_id = fields.String(allow_none=True)
    employee_id = fields.String(allow_none=True)


class TokenResponse(Schema):
    """A short-lived access token and a single-use refresh token."""

    access_token = fields.String(metadata={"description": "JWT; send as 'Authorization: Bearer …'"})
    refresh_token = fields.String(metadata={"description": "Single use: each refresh returns the next one"})
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer(metadata={"description": "Seconds until the access token expires"})
    user = fields.Nested(UserOut)
