"""Dashboard users: creating them, signing in and out, and who a session belongs to.

Passwords are hashed with argon2id (the ``argon2-cffi`` defaults, which follow RFC 9106's
recommendation). A session is a random token in an HttpOnly cookie; the database keeps
only its SHA-256, and each session has its own CSRF token that every form sends back.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from refundry.domain.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    SignInLocked,
    Unauthenticated,
)
from refundry.domain.money import Money
from refundry.domain.order import MAX_ORDER_TOTAL_MINOR
from refundry.domain.staff import Permission, Role, StaffMember
from refundry.services.clock import utcnow
from refundry.services.transactions import run
from refundry.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MIN_PASSWORD = 12
MAX_EMAIL = 320  # the longest address RFC 5321 allows, and the columns' width
SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong
# password and the answer time does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class SignedIn:
    member: StaffMember
    session_token: str  # the cookie's value, the only time it exists in clear
    csrf_token: str


@dataclass(frozen=True, slots=True)
class Session:
    member: StaffMember
    csrf_token: str

    def check_csrf(self, sent: str | None) -> None:
        if not sent or not hmac.compare_digest(sent.encode(), self.csrf_token.encode()):
            raise InvalidInput("the form is out of date or was not sent by this site; reload it")


def create_user(
    uow: UnitOfWork,
    merchant_id: uuid.UUID,
    email: str,
    password: str,
    *,
    role: Role = Role.STAFF,
    permissions: Iterable[Permission] = (),
    refund_limit: Money | None = None,
) -> StaffMember:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if uow.merchants.get(merchant_id) is None:
        raise InvalidInput(f"no merchant {merchant_id}")
    email = email.strip().casefold()
    if uow.staff.by_email(email) is not None:
        # Say no more: the account may be another merchant's.
        raise InvalidInput(f"{email} cannot be given a dashboard account; use another email")
    member = StaffMember(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        email=email,
        role=role,
        permissions=frozenset(permissions),
        created_at=utcnow(),
        refund_limit=refund_limit,
    )
    uow.staff.add(member, _hasher.hash(password))
    return member


def grant(
    uow: UnitOfWork,
    admin: StaffMember,
    member_id: uuid.UUID,
    permissions: Iterable[Permission],
    refund_limit: Money | None,
) -> StaffMember:
    """An admin sets a staff member's permissions and refund limit (None: no limit)."""
    if admin.role is not Role.ADMIN:
        raise Forbidden("only an admin grants permissions")
    found = {member.id: member for member in uow.staff.members(admin.merchant_id)}
    member = found.get(member_id)
    if member is None:
        raise InvalidInput("no such member of your team")
    if member.role is Role.ADMIN:
        raise InvalidInput("an admin may already do everything")
    if refund_limit is not None and not 0 <= refund_limit.minor <= MAX_ORDER_TOTAL_MINOR:
        raise InvalidInput(f"a refund limit is from 0 to {MAX_ORDER_TOTAL_MINOR} minor units")
    changed = replace(member, permissions=frozenset(permissions), refund_limit=refund_limit)
    uow.staff.set_access(changed)
    return changed


@dataclass(frozen=True, slots=True)
class Lockout:
    """``failures`` wrong sign-ins in a row lock an email out for ``duration``."""

    failures: int = 5
    duration: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class WrongCredentials:
    """A sign-in refused for a wrong email or password, counted toward the lockout."""


def sign_in(
    uow_factory: UnitOfWorkFactory,
    email: str,
    password: str,
    previous_token: str | None = None,
    lockout: Lockout = Lockout(),
) -> SignedIn:
    """A new session for the right password. A wrong one is counted toward the lockout in
    the same transaction as the lockout check (on SQLite, under the write lock, so racing
    guesses cannot all pass the check before any is counted); the attempt commits, and
    the refusal is raised after it, so it does not roll the count back."""
    attempt = run(uow_factory, lambda uow: _attempt(uow, email, password, previous_token, lockout))
    if isinstance(attempt, WrongCredentials):
        raise InvalidCredentials("the email or the password is wrong")
    return attempt


def _attempt(
    uow: UnitOfWork, email: str, password: str, previous_token: str | None, lockout: Lockout
) -> SignedIn | WrongCredentials:
    key = email.strip().casefold()
    # Case folding may lengthen an email ("ß" is "ss"): the count keys on what fits.
    counted = key[:MAX_EMAIL]
    now = utcnow()
    locked_until = uow.staff.sign_in_locked_until(counted, now)
    if locked_until is not None:
        wait = math.ceil((locked_until - now).total_seconds())
        raise SignInLocked(
            f"too many failed sign-ins for this email: try again in {math.ceil(wait / 60)} min",
            retry_after=wait,
        )
    found = uow.staff.by_email(key)
    try:
        _hasher.verify(_DUMMY_HASH if found is None else found[1], password)
    except (VerificationError, InvalidHashError):
        found = None
    if found is None:  # unknown emails are counted too: a lockout tells no one who exists
        uow.staff.note_failed_sign_in(counted, now, lockout.failures, lockout.duration)
        return WrongCredentials()
    member = found[0]
    uow.staff.clear_failed_sign_ins(counted)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    if previous_token:
        uow.staff.end_session(_token_hash(previous_token))  # one browser, one session
    uow.staff.end_expired_sessions(member.id, now)
    uow.staff.add_session(_token_hash(token), member.id, csrf, now, now + SESSION_LIFETIME)
    return SignedIn(member, token, csrf)


def session(uow: UnitOfWork, token: str | None) -> Session:
    found = None if not token else uow.staff.session(_token_hash(token), utcnow())
    if found is None:
        raise Unauthenticated("sign in to use the dashboard")
    return Session(*found)


def sign_out(uow: UnitOfWork, token: str | None) -> None:
    if token:
        uow.staff.end_session(_token_hash(token))


def _token_hash(token: str) -> str:
    # Tokens are 256-bit random: a fast hash is enough, as for API keys.
    return hashlib.sha256(token.encode()).hexdigest()
