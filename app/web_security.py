"""Response headers every page carries (CSP, nosniff, referrer, HSTS, caching), static files
without cookies, and the refusal of control characters in submitted text."""
from __future__ import annotations

import re
import threading
import time
from urllib.parse import urlsplit

from cachetools import LRUCache
from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from flask_babel import gettext
from markupsafe import Markup

HSTS_SECONDS = 365 * 24 * 3600
# Endpoints whose responses hold nothing personal and may be cached (their views set
# Cache-Control themselves); every other dynamic response is `no-store`.
CACHEABLE = {"static", "favicon"}

# C0 controls except tab, LF and CR; DEL; C1 controls. NUL is among them: PostgreSQL refuses
# it in text (a 500), and ESC or the C1 controls can rewrite a terminal or a log viewer.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def content_security_policy(config) -> str:
    """No inline script or style anywhere; forms post to this origin, or to the payment gateway
    (the checkout form's redirect goes there, and form-action covers redirects)."""
    form_action = ["'self'"]
    gateway = urlsplit(config.get("PAYMENT_GATEWAY_URL") or "")
    if gateway.scheme in ("http", "https") and gateway.netloc:
        form_action.append(f"{gateway.scheme}://{gateway.netloc}")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            f"form-action {' '.join(form_action)}")


def has_control_characters(text: str) -> bool:
    return bool(CONTROL.search(text))


def control_character_field() -> str | None:
    """The name of the first submitted value (query, form field or uploaded file name) holding a
    control character, or None."""
    # A GET's body is never read (request.values too leaves it out): its query is enough.
    form = () if request.method == "GET" else request.form.items(multi=True)
    for name, value in (*request.args.items(multi=True), *form):
        if has_control_characters(name) or has_control_characters(value):
            return name
    if request.method == "GET":
        return None
    for name, storage in request.files.items(multi=True):
        if has_control_characters(storage.filename or ""):
            return name
    return None


def _refuse_control_characters():
    """One policy for every form, WTForms or not: refused before any view reads it, so a NUL
    never reaches the database."""
    if request.method in ("GET", "HEAD", "OPTIONS") and not request.args:
        return None
    if control_character_field() is None:
        return None
    from flask import render_template
    from .extensions import htmx

    message = gettext("输入内容含有不允许的控制字符（如空字符、退格、转义符），请删除后重新提交。")
    if htmx:
        # htmx swaps a 422 (see the htmx-config meta): the message goes before the form,
        # which keeps what the user typed.
        resp = current_app.make_response(
            (Markup('<p class="flash error" role="alert">%s</p>') % message, 422))
        resp.headers["HX-Reswap"] = "beforebegin"
        return resp
    return render_template("error.html", code=422, message=message), 422


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with two changes. A static file never sets or refreshes
    the session cookie (nor varies on it), so shared caches may keep it. And a cookie this
    worker has verified is not verified again on every request: its signature is checked
    once (HMAC, inflating, JSON), and the same bytes under the same key later give the same
    data; the lifetime is still checked against the time it was signed, each time."""

    def __init__(self, size: int = 2048) -> None:
        self._verified = LRUCache(maxsize=size)  # (cookie, secret key) -> (data, signed at)
        self._lock = threading.Lock()  # gthread workers serve several requests at once

    def open_session(self, app: Flask, request):
        if not app.secret_key:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (cookie, app.secret_key)
        with self._lock:
            hit = self._verified.get(key)
        if hit is None:
            try:
                data, signed_at = self.get_signing_serializer(app).loads(
                    cookie, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            hit = (data, signed_at.timestamp())
            with self._lock:
                self._verified[key] = hit
        elif not 0 <= time.time() - hit[1] <= max_age:  # as itsdangerous decides expiry
            return self.session_class()
        # A copy: a view may change what the session holds in place.
        return self.session_class(_copied(hit[0]))

    def save_session(self, app: Flask, session, response) -> None:
        if request.endpoint != "static":
            super().save_session(app, session, response)


def _copied(value):
    """A copy of session data as the tagged JSON serializer gives it back: dicts and lists are
    copied, everything else it makes (text, numbers, bytes, datetimes, UUIDs, Markup) is
    immutable."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(v) for v in value)
    return value


def _headers(response):
    h = response.headers
    h["Content-Security-Policy"] = current_app.extensions["csp"]
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers without CSP level 2
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        # Not includeSubDomains: other hosts of the government domain are not ours to bind.
        h["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    if request.endpoint not in CACHEABLE:
        # Pages carry the session's CSRF token and often personal data; downloads are scans.
        response.cache_control.clear()
        h["Cache-Control"] = "no-store"
        h.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    app.extensions["csp"] = content_security_policy(app.config)
    app.before_request(_refuse_control_characters)
    app.session_interface = CookieSessions()
    app.after_request(_headers)
