"""Identity operations: users, passwords (argon2id), access tokens (JWT) and rotating refresh tokens."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from backend.config import Config
from backend.db import any_of, utcnow
from backend.errors import Conflict, NotFound, TooManyAttempts, Unauthenticated, ValidationFailed
from backend.identity.models import ROLES, Invitation, LoginAttempt, RefreshToken, User

# NIST SP 800-63B §5.1.1.2: length over composition rules, and refuse guessable passwords; 12 characters and a
# zxcvbn score of at least 3 ("safely unguessable: moderate protection from offline slow-hash attacks").
MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3
# zxcvbn scores at most 72 characters (it raises on longer ones, and its time grows with the length): what it
# scores is the start of a longer password, which is at least as strong as its start.
SCORED_PREFIX = 72
INVITATION_DAYS = 14


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as every authorization check sees it."""

    user_id: str
    role: str
    employer_id: str | None
    employee_id: str | None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def _hasher(config: Config) -> PasswordHasher:
    return PasswordHasher(time_cost=config.password_time_cost, memory_cost=config.password_memory_kib)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def password_problems(password: str, field: str = "password", user_inputs: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """What is wrong with a new password, every problem listed: too short, or too easy to guess (zxcvbn's
    estimate, which also counts words taken from `user_inputs`, such as the email address)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append((field, f"must be at least {MIN_PASSWORD_LENGTH} characters"))
    inputs = [part for value in user_inputs for part in (value, *value.replace("@", ".").split(".")) if part]
    estimate = zxcvbn(password[:SCORED_PREFIX], user_inputs=inputs)
    if estimate["score"] < MIN_PASSWORD_SCORE:
        advice = estimate["feedback"]["warning"] or "add more words or characters that are hard to guess"
        problems.append((field, f"is too easy to guess ({advice.rstrip('.').lower()})"))
    return problems


def create_user(session: Session, config: Config, *, email: str, password: str, role: str,
                employer_id: str | None = None, employee_id: str | None = None) -> User:
    problems = password_problems(password, user_inputs=(email,))
    if role not in ROLES:
        problems.append(("role", f"must be one of {', '.join(ROLES)}"))
    if "@" not in email:
        problems.append(("email", "is not an email address"))
    if problems:
        raise ValidationFailed(problems)
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("A user with this email already exists.", [("email", "is already registered")])
    user = User(email=email, password_hash=_hasher(config).hash(password), role=role,
                employer_id=employer_id, employee_id=employee_id)
    session.add(user)
    session.flush()
    return user


def _issue_pair(session: Session, config: Config, user: User, family_id: str | None = None) -> TokenPair:
    now = utcnow()
    family_id = family_id or secrets.token_hex(8)
    refresh = secrets.token_urlsafe(32)
    session.add(RefreshToken(user_id=user.id, family_id=family_id, token_hash=_digest(refresh),
                             expires_at=now + timedelta(days=config.refresh_token_days)))
    claims = {"sub": user.id, "role": user.role, "sid": family_id, "typ": "access",
              "iat": int(now.timestamp()), "exp": int(now.timestamp()) + config.access_token_seconds,
              "jti": secrets.token_hex(8)}
    access = jwt.encode(claims, config.jwt_secret, algorithm="HS256")
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=config.access_token_seconds, user=user)


def check_login_throttle(session: Session, config: Config, email: str, ip: str | None = None,
                         attempt: LoginAttempt | None = None) -> None:
    """Refuse a login while the account has too many recent failures, counted since its last success: from this
    client (`login_max_failures`), or from all clients together (`login_max_failures_all_clients`, for guessing
    spread over many addresses). Counting per client is what keeps a stranger from locking a known account: their
    failures lock only themselves out, and the owner, from their own address, still logs in. `attempt`, the one
    being made, is not one of them."""
    email = normalize_email(email)
    since = utcnow() - timedelta(seconds=config.login_window_seconds)
    last_success = session.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)))
    if last_success and last_success > since:
        since = last_success
    not_this_one = [LoginAttempt.id != attempt.id] if attempt is not None else []
    failures = session.execute(select(LoginAttempt.at, LoginAttempt.ip).where(
        LoginAttempt.email == email, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since, *not_this_one)
        .order_by(LoginAttempt.at)).all()
    from_here = [at for at, failed_ip in failures if failed_ip == ip]
    for times, limit in ((from_here, config.login_max_failures),
                         ([at for at, _ in failures], config.login_max_failures_all_clients)):
        if len(times) >= limit:
            retry = times[-limit] + timedelta(seconds=config.login_window_seconds) - utcnow()
            raise TooManyAttempts("Too many failed logins for this account; try again later.",
                                  retry_after_seconds=int(retry.total_seconds()) + 1)


def _take_login_turn(session: Session, email: str, ip: str | None) -> LoginAttempt:
    """Record this attempt (as a failure until the password is checked) while holding the address's turn until
    the request commits, so logins for one address are counted one after another: parallel guesses cannot all
    pass the count before any failure is recorded. PostgreSQL: a transaction-scoped advisory lock keyed by the
    address. SQLite: the attempt's INSERT is the transaction's first statement and takes the database's write
    lock."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"login:" + email.encode()).digest()[:8], "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(key)))
    attempt = LoginAttempt(email=email, succeeded=False, ip=ip)
    session.add(attempt)
    session.flush()
    return attempt


def login(session: Session, config: Config, email: str, password: str, ip: str | None = None) -> TokenPair:
    """Tokens for a good email and password. Every attempt is recorded, failures too, for throttling; a refused
    (throttled) attempt is not, so it does not extend the lock-out."""
    email = normalize_email(email)
    attempt = _take_login_turn(session, email, ip)
    check_login_throttle(session, config, email, ip, attempt)
    user = session.scalar(select(User).where(User.email == email))
    ok = False
    if user is not None and not user.disabled:
        try:
            ok = _hasher(config).verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Spend the same time as a real check so response times do not reveal which emails exist.
        try:
            _hasher(config).verify(_dummy_hash(config), password)
        except (VerificationError, InvalidHashError):
            pass
    attempt.succeeded = ok
    if not ok:
        raise Unauthenticated("The email or password is wrong.", keep_changes=True)
    if _hasher(config).check_needs_rehash(user.password_hash):
        user.password_hash = _hasher(config).hash(password)
    return _issue_pair(session, config, user)


_DUMMY: dict[tuple, str] = {}


def _dummy_hash(config: Config) -> str:
    key = (config.password_time_cost, config.password_memory_kib)
    if key not in _DUMMY:
        _DUMMY[key] = _hasher(config).hash(secrets.token_hex(8))
    return _DUMMY[key]


def issue_tokens(session: Session, config: Config, user: User) -> TokenPair:
    """Tokens for a user who has just proved who they are another way (sign-up, accepted invitation)."""
    return _issue_pair(session, config, user)


def refresh(session: Session, config: Config, refresh_token: str) -> TokenPair:
    """Rotate: spend this refresh token and issue the next in its family. Presenting a spent token means it was
    stolen or replayed, so the whole family is revoked."""
    token = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise Unauthenticated("The refresh token is not valid.")
    user = session.get(User, token.user_id)
    if user is None or user.disabled:
        raise Unauthenticated("The refresh token is not valid.")
    # Spent by a conditional UPDATE, not a read then a write: of two requests presenting the token at once, the
    # database lets one spend it, and the other is reuse like any later one.
    spent = session.execute(update(RefreshToken).where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        revoke_family(session, token.family_id)
        raise Unauthenticated("This refresh token was already used; the session has been ended.", keep_changes=True)
    return _issue_pair(session, config, user, family_id=token.family_id)


def revoke_family(session: Session, family_id: str) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def logout(session: Session, principal_session_id: str) -> None:
    revoke_family(session, principal_session_id)


def authenticate_access_token(session: Session, config: Config, token: str) -> tuple[Principal, str]:
    """The principal and session family for a bearer token; refused if expired, forged or logged out."""
    try:
        claims = jwt.decode(token, config.jwt_secret, algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The access token has expired; refresh it.") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The access token is not valid.") from None
    if claims.get("typ") != "access":
        raise Unauthenticated("The access token is not valid.")
    # The session is live while its refresh-token family exists and no token of it is revoked: a token naming a
    # family that never existed (minted with a leaked key, say) is refused too, so logout can end every session.
    issued, revoked = session.execute(select(func.count(RefreshToken.id), func.count(RefreshToken.revoked_at))
                                      .where(RefreshToken.family_id == claims["sid"])).one()
    user = session.get(User, claims["sub"])
    if not issued or revoked or user is None or user.disabled:
        raise Unauthenticated("This session has ended; log in again.")
    return Principal(user.id, user.role, user.employer_id, user.employee_id), claims["sid"]


def email_of(session: Session, user_id: str) -> str | None:
    """Where the user is reached by email now; None for an unknown or disabled user (nothing goes to them)."""
    row = session.execute(select(User.email, User.disabled).where(User.id == user_id)).first()
    return row.email if row is not None and not row.disabled else None


def create_invitation(session: Session, *, email: str, role: str, employer_id: str | None,
                      created_by: str | None) -> tuple[Invitation, str]:
    """An invitation and its one-time token (returned once; only its digest is stored)."""
    token = secrets.token_urlsafe(24)
    invitation = Invitation(email=normalize_email(email), role=role, employer_id=employer_id,
                            token_hash=_digest(token), created_by=created_by,
                            expires_at=utcnow() + timedelta(days=INVITATION_DAYS))
    session.add(invitation)
    session.flush()
    return invitation, token


def void_invitations(session: Session, invitation_ids: list[str]) -> None:
    """These invitations' tokens stop working (a new one was sent in their place)."""
    session.execute(update(Invitation).where(Invitation.id.in_(invitation_ids), Invitation.accepted_at.is_(None))
                    .values(expires_at=utcnow()))


def accept_invitation(session: Session, config: Config, token: str, password: str) -> TokenPair:
    """A user for the invitation's address and role. Accepted once: the invitation is claimed by a conditional
    update before the user is created, so of simultaneous accepts one wins and the others find it used."""
    problems = password_problems(password)
    if problems:
        raise ValidationFailed(problems)
    now = utcnow()
    invitation_id = session.scalar(
        update(Invitation).where(Invitation.token_hash == _digest(token), Invitation.accepted_at.is_(None),
                                 Invitation.expires_at > now)
        .values(accepted_at=now).returning(Invitation.id))
    if invitation_id is None:
        raise NotFound("This invitation does not exist, has expired or was already used.")
    invitation = session.get(Invitation, invitation_id)
    session.refresh(invitation)
    user = create_user(session, config, email=invitation.email, password=password, role=invitation.role,
                       employer_id=invitation.employer_id)
    return issue_tokens(session, config, user)


# ---- who can be told (read by notifications/) -----------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    """An enabled account as a notifier needs it: who it is for, and whether it has an address to mail."""

    user_id: str
    role: str
    employer_id: str | None
    employee_id: str | None
    has_email: bool


def accounts(session: Session, user_ids) -> dict[str, Account]:
    """The enabled accounts among `user_ids` (a disabled or unknown one is nobody to tell)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.role, User.employer_id, User.employee_id, User.email)
                           .where(any_of(session, User.id, ids), User.disabled.is_(False))).all()
    return {r.id: Account(r.id, r.role, r.employer_id, r.employee_id, bool(r.email)) for r in rows}


def participant_accounts(session: Session, employee_ids) -> dict[str, str]:
    """{employee id: user id} of the employees among `employee_ids` who have signed up (and are not disabled)."""
    ids = list(dict.fromkeys(employee_ids))
    if not ids:
        return {}
    return dict(session.execute(select(User.employee_id, User.id).where(
        any_of(session, User.employee_id, ids), User.disabled.is_(False))).all())


def staff_of_employer(session: Session, employer_id: str, roles: tuple[str, ...] = ("sponsor_admin",)) -> list[str]:
    """The user ids of an employer's enabled staff accounts with one of `roles` (its sponsor admins)."""
    return list(session.scalars(select(User.id).where(User.employer_id == employer_id, User.role.in_(roles),
                                                      User.disabled.is_(False)).order_by(User.created_at)))
