"""Settings from the environment; nothing else reads os.environ."""
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _instance_dir() -> Path:
    path = Path(os.environ.get("PLUMB_INSTANCE_DIR", Path.cwd() / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _persistent_secret(name: str, generate) -> str:
    """A secret for the embedded default: generated once, kept in instance/ so restarts keep sessions and PII."""
    path = _instance_dir() / name
    if not path.exists():
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


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
    login_max_failures: int = 5
    login_window_seconds: int = 900
    signup_max_attempts: int = 5
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
        if "PLUMB_ACCESS_TOKEN_SECONDS" in env:
            values["access_token_seconds"] = int(env["PLUMB_ACCESS_TOKEN_SECONDS"])
        values.update(overrides)
        return cls(**values)
