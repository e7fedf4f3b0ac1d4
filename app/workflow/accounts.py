"""Passwords (Argon2), login lockout, and applicants' identity data."""
from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from ..models import User, utcnow
from .ids import clean_id_number, encrypt_id, id_hash, mask_id

def _hasher() -> PasswordHasher:
    """Argon2id with the library's defaults, or lighter ARGON2_PARAMS where configured (tests)."""
    return PasswordHasher(**current_app.config.get("ARGON2_PARAMS", {}))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def set_id_number(user: User, raw: str) -> bool:
    """Store a valid ID number encrypted, hashed and masked; False when it fails GB 11643."""
    number = clean_id_number(raw)
    if number is None:
        return False
    user.id_number_enc = encrypt_id(number)
    user.id_number_hash = id_hash(number)
    user.id_number_masked = mask_id(number)
    return True


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def check_password(user: User, password: str) -> bool:
    """Verify and count failures; the account locks after LOGIN_MAX_FAILURES in a row.
    The caller commits."""
    hasher = _hasher()
    try:
        ok = hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        user.failed_logins = 0
        user.locked_until = None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        return True
    user.failed_logins += 1
    if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0
    return False
