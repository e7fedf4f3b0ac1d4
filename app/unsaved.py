"""Text typed into a section whose session ran out before it was saved. The posted form is kept
for a short while, encrypted, in Redis under a random token that only this browser holds (an
HttpOnly cookie, never the URL); the user is sent to sign in and, back on the page, finds the
text in the section again. The page gives it back only to the user who owns what it was typed
for, once, and not after UNSAVED_FORM_MINUTES."""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from flask import after_this_request, current_app, g, request
from redis import Redis
from redis.exceptions import RedisError

COOKIE = "unsaved"
KEY = "unsaved:{}"
# What is kept of one form: a section has a few dozen short fields; anything larger is not a
# form of ours and is not stored for a signed-out sender.
MAX_FIELDS = 40
MAX_BYTES = 16 * 1024


@dataclass(frozen=True)
class Unsaved:
    """A kept form: the view it was posted to, that view's arguments and the fields."""
    endpoint: str
    args: dict
    fields: dict[str, str]


def keeps_unsaved(back: Callable[..., str]):
    """Mark a POST view whose form is kept when the session has run out; `back(**view_args)` is
    the page, with the section's anchor, that shows the form again."""
    def mark(view):
        view.keeps_unsaved = back
        return view
    return mark


def back_url() -> str | None:
    """The page to return to after sign-in when this request's form is one that is kept."""
    view = current_app.view_functions.get(request.endpoint or "")
    back = getattr(view, "keeps_unsaved", None)
    return back(**(request.view_args or {})) if back and request.method == "POST" else None


def same_origin() -> bool:
    """The request was sent by one of this site's pages (Sec-Fetch-Site, else Origin or
    Referer): a form whose CSRF token no longer checks out is kept only then, so another site
    cannot plant text in a signed-out browser's form."""
    site = request.headers.get("Sec-Fetch-Site")
    if site:
        return site == "same-origin"
    source = request.headers.get("Origin") or request.referrer or ""
    return bool(source) and urlsplit(source).netloc == request.host


def _redis() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2)


def _key(token: str) -> str:
    # The cookie's value is not what Redis holds: a copy of the database names no token.
    return KEY.format(hashlib.sha256(token.encode()).hexdigest())


def _within_limit() -> bool:
    from .extensions import limiter
    from .web import client_ip
    from limits import parse
    if not limiter.enabled:
        return True
    try:
        return limiter.limiter.hit(parse(current_app.config["UNSAVED_FORM_LIMIT"]), "unsaved",
                                   client_ip())
    except Exception:  # noqa: BLE001 - the count's store is down: storing fails or not on its own
        return True


def keep() -> str | None:
    """Store this request's form (without its CSRF token); the token to hand the browser, or
    None when nothing was stored: too large, too many from this address, or Redis unreachable."""
    from .workflow.crypto import encrypt
    fields = {k: v for k, v in request.form.items() if k != "csrf_token"}
    minutes = current_app.config["UNSAVED_FORM_MINUTES"]
    body = json.dumps({"tenant": g.get("tenant_id"), "endpoint": request.endpoint,
                       "args": request.view_args or {}, "fields": fields,
                       "until": int(time.time()) + minutes * 60}, ensure_ascii=False)
    if len(fields) > MAX_FIELDS or len(body.encode()) > MAX_BYTES or not _within_limit():
        return None
    token = secrets.token_urlsafe(24)
    try:
        _redis().set(_key(token), encrypt(body), ex=minutes * 60)
    except (RedisError, OSError):
        return None
    return token


def set_cookie(response, token: str) -> None:
    """Hand the browser the token of its kept form, for this tenant's pages only."""
    response.set_cookie(COOKIE, token, max_age=current_app.config["UNSAVED_FORM_MINUTES"] * 60,
                        path=f"/{g.tenant.slug}/", httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


def take(wanted: Callable[[Unsaved], bool]) -> Unsaved | None:
    """The form this browser kept, if `wanted` says it belongs on this page (the caller has
    checked the signed-in user owns what the page shows): given back once, then forgotten.
    A kept form for another page stays until it expires."""
    from .workflow.crypto import KeyRingError, decrypt
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        conn = _redis()
        sealed = conn.get(_key(token))
        data = json.loads(decrypt(sealed.decode())) if sealed else None
    except (RedisError, OSError, KeyRingError, ValueError):
        return None
    if data is None or data["until"] < time.time() or data["tenant"] != g.get("tenant_id"):
        _forget(token)
        return None
    kept = Unsaved(data["endpoint"], data["args"], data["fields"])
    if not wanted(kept):
        return None
    _forget(token)
    return kept


def _forget(token: str) -> None:
    try:
        _redis().delete(_key(token))
    except (RedisError, OSError):
        pass  # it expires on its own

    @after_this_request
    def _drop_cookie(response):
        response.delete_cookie(COOKIE, path=f"/{g.tenant.slug}/")
        return response
