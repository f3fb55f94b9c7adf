"""Settings from the environment; nothing else reads os.environ."""
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _instance_dir() -> Path:
    path = Path(os.environ.get("PLUMB_INSTANCE_DIR", Path.cwd() / "instance"))
    # Private to the user running Plumb: it holds the embedded database, the generated keys and outgoing messages.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _persistent_secret(name: str, generate) -> str:
    """A secret for the embedded default: generated once, kept in instance/ so restarts keep sessions and PII."""
    path = _instance_dir() / name
    if not path.exists():
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


FIREBASE_WEB_REQUIRED = ("apiKey", "projectId", "messagingSenderId", "appId", "vapidKey")
FIREBASE_WEB_KEYS = FIREBASE_WEB_REQUIRED + ("authDomain", "storageBucket", "measurementId")


def firebase_web_config(raw: str) -> dict:
    """PLUMB_FIREBASE_WEB_CONFIG read at start: a JSON object of strings with the keys web push needs, so a typo
    stops the server with its name rather than leaving every phone silently without pushes."""
    import json

    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"PLUMB_FIREBASE_WEB_CONFIG is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError("PLUMB_FIREBASE_WEB_CONFIG must be a JSON object")
    missing = [key for key in FIREBASE_WEB_REQUIRED if not isinstance(value.get(key), str) or not value[key]]
    unknown = sorted(set(value) - set(FIREBASE_WEB_KEYS))
    if missing or unknown:
        raise ValueError(f"PLUMB_FIREBASE_WEB_CONFIG: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}")
    return {key: str(value[key]) for key in FIREBASE_WEB_KEYS if key in value}


@dataclass
class Config:
    database_url: str
    jwt_secret: str
    pii_key: str
    access_token_seconds: int = 900
    refresh_token_days: int = 30
    # argon2id parameters; tests lower them because hashing strength is not what they measure.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    # Failed logins to one account from one client before that client is refused for it; from all clients
    # together (guessing spread over many addresses) before everyone is.
    login_max_failures: int = 5
    login_max_failures_all_clients: int = 50
    login_window_seconds: int = 900
    signup_max_attempts: int = 5
    # Outbound calls (payroll endpoints) go only to public https addresses; development and the tests may allow
    # plain http to loopback receivers. Off by default.
    allow_loopback_http: bool = False
    # Per-client rate limits (Flask-Limiter) beside the per-account throttles; storage is a limits URI
    # ("memory://" for one process, "redis://host:port" when several processes share the counts).
    rate_limits_enabled: bool = True
    rate_limit_storage_uri: str = "memory://"
    # Census files above this many rows are refused (a 422) rather than loaded.
    census_max_rows: int = 100_000
    # Where the embedded default keeps its database, secrets and, until real delivery exists, outgoing messages.
    instance_dir: str = ""
    # Reverse proxies in front of the server whose X-Forwarded-For/-Proto are trusted (the client's address for
    # the per-client limits, https for HSTS); 0 trusts none, since a client can send those headers itself.
    proxy_hops: int = 0
    # Firebase Cloud Messaging: a service-account JSON file and, if it is not the file's, the project id; without
    # the file pushes are only logged (notifications/push.py).
    fcm_credentials_file: str = ""
    fcm_project_id: str = ""
    # Email through SMTP (notifications/email.py): without a host, each email is written as a file under
    # instance/messages/. security is "starttls", "tls" (implicit, usually port 465) or "none"; the CA file, when
    # given, is the only CA trusted for the server's certificate (a private relay's own CA).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    email_from: str = "Plumb <no-reply@localhost>"
    smtp_ca_file: str = ""
    smtp_timeout_seconds: float = 30
    # The phone app's build (index.html and assets/) served at /app/; empty: app/dist in the repository
    # (backend/web/phone_app.py).
    app_dir: str = ""
    # Billing the employer through Stripe (backend/billing/): without an API key billing is off and nothing is
    # queued for Stripe. The API base is for a Stripe stand-in (localstripe in the tests); empty is Stripe's own.
    stripe_api_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = ""
    billing_base_fee_cents: int = 5000  # a month, per plan
    billing_participant_cents: int = 400  # a month, per participant with a balance or an election
    # Days after a failed payment before the daily pass flags the plan's billing past due.
    billing_grace_days: int = 14
    # The Firebase web app's configuration (with "vapidKey" for web push), public by design: served at
    # /v1/app-config so the phone app can register for pushes; None: the app uses the notification feed only.
    firebase_web_config: dict | None = None
    # Signing links (backend/documents/signing_links.py): how long one works, and the address people open this
    # server at, which the link in the email starts with (its /app/sign/<token> screen).
    signing_link_days: int = 7
    public_base_url: str = "http://localhost:5000"
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        from cryptography.fernet import Fernet

        env = os.environ
        url = env.get("DATABASE_URL") or f"sqlite:///{_instance_dir() / 'plumb.db'}"
        values = dict(
            database_url=url,
            jwt_secret=env.get("PLUMB_JWT_SECRET") or _persistent_secret("jwt.secret", lambda: secrets.token_urlsafe(48)),
            pii_key=env.get("PLUMB_PII_KEY") or _persistent_secret("pii.key", lambda: Fernet.generate_key().decode()),
        )
        values["instance_dir"] = str(_instance_dir())
        if env.get("PLUMB_ALLOW_LOOPBACK_HTTP"):
            values["allow_loopback_http"] = env["PLUMB_ALLOW_LOOPBACK_HTTP"].lower() in ("1", "true", "yes")
        if env.get("PLUMB_RATE_LIMIT_STORAGE_URI"):
            values["rate_limit_storage_uri"] = env["PLUMB_RATE_LIMIT_STORAGE_URI"]
        if env.get("PLUMB_PROXY_HOPS"):
            values["proxy_hops"] = int(env["PLUMB_PROXY_HOPS"])
        if env.get("PLUMB_FCM_CREDENTIALS"):
            values["fcm_credentials_file"] = env["PLUMB_FCM_CREDENTIALS"]
        if env.get("PLUMB_FCM_PROJECT_ID"):
            values["fcm_project_id"] = env["PLUMB_FCM_PROJECT_ID"]
        for name, variable in (("smtp_host", "PLUMB_SMTP_HOST"), ("smtp_security", "PLUMB_SMTP_SECURITY"),
                               ("smtp_username", "PLUMB_SMTP_USERNAME"), ("smtp_password", "PLUMB_SMTP_PASSWORD"),
                               ("email_from", "PLUMB_EMAIL_FROM"), ("smtp_ca_file", "PLUMB_SMTP_CA_FILE")):
            if env.get(variable):
                values[name] = env[variable]
        if env.get("PLUMB_SMTP_PORT"):
            values["smtp_port"] = int(env["PLUMB_SMTP_PORT"])
        if env.get("PLUMB_SMTP_TIMEOUT_SECONDS"):
            values["smtp_timeout_seconds"] = float(env["PLUMB_SMTP_TIMEOUT_SECONDS"])
        for name, variable in (("stripe_api_key", "PLUMB_STRIPE_API_KEY"),
                               ("stripe_webhook_secret", "PLUMB_STRIPE_WEBHOOK_SECRET"),
                               ("stripe_api_base", "PLUMB_STRIPE_API_BASE")):
            if env.get(variable):
                values[name] = env[variable]
        for name, variable in (("billing_base_fee_cents", "PLUMB_BILLING_BASE_FEE_CENTS"),
                               ("billing_participant_cents", "PLUMB_BILLING_PARTICIPANT_CENTS"),
                               ("billing_grace_days", "PLUMB_BILLING_GRACE_DAYS")):
            if env.get(variable):
                values[name] = int(env[variable])
        if env.get("PLUMB_APP_DIR"):
            values["app_dir"] = env["PLUMB_APP_DIR"]
        if env.get("PLUMB_FIREBASE_WEB_CONFIG"):
            values["firebase_web_config"] = firebase_web_config(env["PLUMB_FIREBASE_WEB_CONFIG"])
        if env.get("PLUMB_SIGNING_LINK_DAYS"):
            values["signing_link_days"] = int(env["PLUMB_SIGNING_LINK_DAYS"])
        if env.get("PLUMB_PUBLIC_BASE_URL"):
            values["public_base_url"] = env["PLUMB_PUBLIC_BASE_URL"].rstrip("/")
        if "PLUMB_ACCESS_TOKEN_SECONDS" in env:
            values["access_token_seconds"] = int(env["PLUMB_ACCESS_TOKEN_SECONDS"])
        values.update(overrides)
        return cls(**values)
