"""Passwords (Argon2), sessions that end on the server, enabling and disabling accounts, and
applicants' identity data."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Role, User
from .actors import Actor
from .errors import Forbidden, Invalid
from .ids import clean_document, clean_work_permit, encrypt_id, id_hash, mask_id, work_permit_hash
from .passwords import password_problem
from .transitions import audit

MANAGERS = {Role.tenant_admin.value, "system"}  # who may disable and enable accounts


def _hasher() -> PasswordHasher:
    """Argon2id with the library's defaults, or lighter ARGON2_PARAMS where configured (tests)."""
    return PasswordHasher(**current_app.config.get("ARGON2_PARAMS", {}))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def set_id_number(user: User, raw: str, doc_type: str = "resident_id") -> bool:
    """Store a valid identity-document number encrypted, hashed and masked, with its type;
    False (and nothing changed) when it fails its document's rule (GB 11643 for the ID card)."""
    number = clean_document(doc_type, raw)
    if number is None:
        return False
    user.id_doc_type = doc_type
    user.id_number_enc = encrypt_id(number)
    user.id_number_hash = id_hash(number)
    user.id_number_masked = mask_id(number)
    return True


def set_work_permit(user: User, raw: str | None) -> bool:
    """Store a foreigner's work-permit number (18 digits) like an ID number; False when invalid."""
    number = clean_work_permit(raw)
    if number is None:
        return False
    user.work_permit_enc = encrypt_id(number)
    user.work_permit_hash = work_permit_hash(number)
    user.work_permit_masked = mask_id(number)
    return True


def _dummy_hash() -> str:
    """A hash of a secret nobody knows, made with the same parameters as real ones: checking an
    unknown name's password against it costs what checking a real account's costs."""
    cache = current_app.extensions
    if "argon2_dummy_hash" not in cache:
        cache["argon2_dummy_hash"] = hash_password(secrets.token_urlsafe(24))
    return cache["argon2_dummy_hash"]


def verify_password(user: User | None, password: str) -> bool:
    """Whether `password` is the user's; for no user, the same Argon2 work and then False.
    A hash made with outdated parameters is upgraded on success (the caller commits)."""
    hasher = _hasher()
    try:
        ok = hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and user is not None and hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return ok and user is not None


def end_sessions(user: User) -> None:
    """Every session issued to the user so far is refused from its next request (the epoch in
    the cookie no longer matches; app/web.py). The caller commits."""
    user.session_epoch = (user.session_epoch or 0) + 1


def change_password(user: User, current: str, new: str, ip: str) -> None:
    """Replace the password after checking the current one and the policy; every other session
    of the user ends. Audited either way."""
    actor = Actor.of(user, ip)
    if not verify_password(user, current):
        audit(actor, "users", user.id, "password_change_failed")
        db.session.commit()
        raise Invalid(_l("当前密码不正确。"))
    if problem := password_problem(new, user.username, user.mobile):
        raise Invalid(problem)
    user.password_hash = hash_password(new)
    end_sessions(user)
    audit(actor, "users", user.id, "password_change")
    db.session.commit()


def _may_manage(actor: Actor, user: User) -> None:
    # The system (CLI) or the tenant's own admin; nobody disables their own account.
    if actor.tenant_id != user.tenant_id or actor.role not in MANAGERS:
        raise Forbidden(_l("您无权进行此操作。"))
    if actor.user_id == user.id:
        raise Invalid(_l("不能停用或启用自己的账号。"))


def disable_user(actor: Actor, user: User) -> None:
    """The account can no longer sign in and its open sessions end now (audited)."""
    _may_manage(actor, user)
    if user.active:
        user.active = False
        end_sessions(user)
        audit(actor, "users", user.id, "disable", from_state="active", to_state="disabled")
    db.session.commit()


def enable_user(actor: Actor, user: User) -> None:
    """The account may sign in again (audited)."""
    _may_manage(actor, user)
    if not user.active:
        user.active = True
        audit(actor, "users", user.id, "enable", from_state="disabled", to_state="active")
    db.session.commit()
