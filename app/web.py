"""Request-wide helpers: page-or-fragment rendering, locale, fingerprinted static URLs, errors."""
from __future__ import annotations

import functools
import hashlib
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Flask, current_app, g, has_request_context, render_template, request, session, url_for,
)
from flask_babel import get_locale
from flask_htmx.responses import HTMXResponseClientRedirect
from flask_login import current_user, login_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from . import unsaved
from .extensions import htmx, login
from .models import Status, User


def select_locale() -> str:
    """?lang= (remembered in the session), else the browser's preference, else zh-CN.
    Outside a request (jobs, CLI) the default, zh-CN."""
    if not has_request_context():
        return "zh_Hans_CN"
    wanted = request.args.get("lang")
    if wanted in ("zh", "en"):
        session["lang"] = wanted
    chosen = session.get("lang") or _preferred(request.headers.get("Accept-Language", ""))
    return "en" if chosen == "en" else "zh_Hans_CN"


@functools.lru_cache(maxsize=256)
def _preferred(accept_language: str) -> str:
    """The browser's preferred language of ours; few distinct headers, each parsed once."""
    return parse_accept_header(accept_language, LanguageAccept).best_match(["zh", "en"]) or "zh"


# The display modes a browser may choose (GB/T 37668): larger text, high contrast. Kept in a
# cookie of their own, not the session, so they outlive sign-in and sign-out.
DISPLAY_COOKIE, DISPLAY_COOKIE_AGE = "display", 400 * 24 * 3600
DISPLAY_MODES = ("large", "contrast")


def display_modes() -> list[str]:
    """The display modes this browser chose, in DISPLAY_MODES order; none outside a request."""
    if not has_request_context():
        return []
    chosen = request.cookies.get(DISPLAY_COOKIE, "").split(".")
    return [m for m in DISPLAY_MODES if m in chosen]


def render_page(full: str, fragment: str | None = None, *, http_status: int = 200, **ctx):
    """The fragment for an htmx request (not a history restore), else the full page."""
    partial = fragment is not None and htmx and not htmx.history_restore_request
    resp = current_app.make_response(
        (render_template(fragment if partial else full, **ctx), http_status))
    resp.headers["Vary"] = "HX-Request"
    return resp


def static_url(filename: str) -> str:
    """url_for('static') plus a content hash, so files can be cached for a year."""
    cache = current_app.extensions.setdefault("static_hashes", {})
    if filename not in cache:
        path = Path(current_app.static_folder) / filename
        cache[filename] = (hashlib.sha256(path.read_bytes()).hexdigest()[:10]
                           if path.is_file() else None)
    digest = cache[filename]
    return url_for("static", filename=filename, v=digest) if digest else ""


def filesize(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KB" if n < 1024 * 1024 else \
        f"{n / 1024 / 1024:.1f} MB"


def downscale_attrs() -> dict[str, str | int]:
    """Attributes of a scan's file input for static/js/downscale.js: the tenant's target
    resolution and the script's texts in the user's language."""
    from flask_babel import gettext
    from .uploads import image_max_side

    return {"data-downscale": "", "data-max-side": image_max_side(),
            "data-msg-working": gettext("正在压缩图片……"),
            "data-msg-done": gettext("已压缩：原 {before} → {after}"),
            "data-msg-preview": gettext("压缩后的图片预览")}


def target_label(target: str) -> str:
    """What a correction points at, for display: a section or a checklist material."""
    from .tenancy import label
    from .workflow.applications import SECTION_TITLES

    if target.startswith("material:"):
        return label(g.tenant.material(target.split(":", 1)[1])) or target
    if target == "basic":
        from flask_babel import gettext
        return gettext("基本信息")
    return str(SECTION_TITLES.get(target, target))


RETURN_ROWS = 6  # blank correction rows offered without JavaScript


def correction_targets() -> list[tuple[str, str]]:
    """What a correction can point at: basic info, each section, each checklist material."""
    from flask_babel import gettext
    from .tenancy import label
    from .workflow.applications import SECTION_TITLES

    return ([("basic", gettext("基本信息"))] + [(k, str(v)) for k, v in SECTION_TITLES.items()]
            + [(f"material:{m.code}", label(m)) for m in g.tenant.checklist.material])


def correction_form_items(form) -> list[dict]:
    rows = ({"target": form.get(f"target-{i}", ""), "text": form.get(f"text-{i}", "").strip()}
            for i in range(RETURN_ROWS))
    return [r for r in rows if r["text"]]


def flash_error(e) -> None:
    """A refused action's message and each of its problems, as flashed errors."""
    from flask import flash
    flash(str(e.message), "error")
    for p in e.problems:
        flash(str(p), "error")


def client_ip() -> str:
    """The client's address as the socket saw it. Behind TRUSTED_PROXY_HOPS proxies, ProxyFix
    (create_app) has already taken it from X-Forwarded-For; a header the client sends itself
    is never believed."""
    return request.remote_addr or ""


def current_actor():
    """The signed-in user as the workflow's actor, with the client address for the audit."""
    from .workflow.actors import Actor
    return Actor.of(current_user, client_ip())


# What a session cookie carries besides Flask-Login's user id: the user's session epoch at
# sign-in (raised by logout, a password change or disabling) and when the sign-in happened.
SESSION_EPOCH, SESSION_SIGNED_IN = "epoch", "signed_in_at"
SESSION_SEEN = "seen"  # when the cookie was last signed (the idle timeout counts from it)


def sign_in(user) -> None:
    """Start a session for `user` that ends at its epoch's next change or its absolute lifetime."""
    login_user(user)
    session[SESSION_SIGNED_IN] = int(time.time())
    keep_session(user)


def keep_session(user) -> None:
    """This browser's session survives the epoch change it just made (a password change)."""
    session[SESSION_EPOCH] = user.session_epoch


def session_is_current(user) -> bool:
    """The account is active, nothing has ended its sessions since this one began, and it is
    younger than SESSION_ABSOLUTE_LIFETIME however active it was."""
    return session_current_for(user.active, user.session_epoch)


def session_current_for(active: bool, epoch) -> bool:
    """session_is_current for an account's `active` and `session_epoch` columns."""
    started = session.get(SESSION_SIGNED_IN)
    lifetime = current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    return (bool(active) and session.get(SESSION_EPOCH) == epoch
            and isinstance(started, int) and time.time() - started < lifetime)


def to_sign_in():
    """To the sign-in page and, after it, back where the user was. A section's form that arrives
    signed out is kept (app/unsaved.py) and its page is where the user returns; an htmx request
    is told to load the sign-in page (HX-Redirect) instead of swapping it into a fragment."""
    from flask import flash, redirect
    from flask_babel import gettext

    back = unsaved.back_url()
    token = unsaved.keep() if back else None
    if back:
        flash(gettext("登录已超时。刚才填写的内容尚未保存，已为您暂存；重新登录后将回到原处并恢复。")
              if token else gettext("登录已超时，刚才填写的内容未能暂存，请重新登录后再填写。"),
              "warn")
    elif "tenant" not in g:
        back = None
    elif htmx:
        # The page the fragment was asked for from, not the fragment's own URL.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = current.path + (f"?{current.query}" if current.query else "") or None
    else:
        back = request.full_path
    target = url_for("auth.login", next=back)
    response = HTMXResponseClientRedirect(target) if htmx else redirect(target)
    if token:
        unsaved.set_cookie(response, token)
    return response


def _end_session() -> None:
    """Forget who was signed in; keep the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


LARGE_UPLOADS = {("agency.session_act", "upload")}  # (endpoint, action): recordings


def allow_large_uploads(app: Flask) -> None:
    """Raise the body limit for the recording upload only; everything else keeps the small one."""
    @app.before_request
    def _limit():
        action = (request.view_args or {}).get("action")
        if (request.endpoint, action) in LARGE_UPLOADS:
            request.max_content_length = current_app.config["MAX_RECORDING_BYTES"] + 64 * 1024


def init_app(app: Flask) -> None:
    login.login_view = "auth.login"
    login.login_message = None

    @login.user_loader
    def _load(user_id: str):
        # With its office in the same statement: the header, the navigation and most pages
        # read it. Kept between requests while nothing is written (app/pagecache.py).
        def load():
            return current_app.extensions["sqlalchemy"].session.get(
                User, int(user_id), options=[joinedload(User.org)])
        cache = current_app.extensions.get("pagecache")
        user = cache.user(User, int(user_id), load) if cache else load()
        # A session never crosses tenants: the cookie's user must belong to the URL's tenant.
        if user is None or ("tenant_id" in g and user.tenant_id != g.tenant_id):
            return None
        if not session_is_current(user):
            _end_session()
            return None
        return user

    @login.unauthorized_handler
    def _unauthorized():
        return to_sign_in()

    @app.errorhandler(CSRFError)
    def _csrf_failed(e: CSRFError):
        # A session that ran out took its CSRF token along: a section's form posted from one of
        # our pages then goes the way of any signed-out post, typed text kept.
        if ("tenant" in g and unsaved.back_url() and not current_user.is_authenticated
                and unsaved.same_origin()):
            return to_sign_in()
        return e

    @app.before_request
    def _idle_expiry():
        # PERMANENT_SESSION_LIFETIME is the idle timeout, counted from the cookie's signature.
        # Signing it again on every request would cost every page a signature and a cookie;
        # once a minute keeps the timeout exact to the minute.
        if not session.permanent:
            session.permanent = True
        now = int(time.time())
        if now - session.get(SESSION_SEEN, 0) >= current_app.config["SESSION_RESIGN_SECONDS"]:
            session[SESSION_SEEN] = now

    @app.context_processor
    def _ctx():
        loc = get_locale()
        return {"static_url": static_url, "tenant": g.get("tenant"), "lang": loc.language if loc else "zh",
                "Status": Status, "current_user": current_user, "display_modes": display_modes()}

    from .navigation import nav_entries
    app.jinja_env.globals.update(nav_entries=nav_entries)
    from .tenancy import label
    from .workflow.people import PERSON_TYPE_LABELS
    from .workflow.transitions import action_label, status_label

    app.jinja_env.globals.update(label=label, status_label=status_label,
                                 action_label=action_label, person_type_labels=PERSON_TYPE_LABELS,
                                 target_label=target_label, downscale_attrs=downscale_attrs)
    app.jinja_env.filters["filesize"] = filesize
    from .workflow.applications import FIELD_CHOICES, entry_text
    app.jinja_env.globals.update(entry_text=entry_text, field_choices=FIELD_CHOICES)
    from .workflow.paper import forms_for, mode_label, needs_paper
    app.jinja_env.globals.update(paper_forms_for=forms_for, needs_paper=needs_paper,
                                 review_mode_label=mode_label)
    from .workflow.ids import document_label
    app.jinja_env.globals.update(document_label=document_label)
    from .workflow import freelance
    app.jinja_env.globals.update(freelance_applies=freelance.applies,
                                 freelance_field_name=freelance.field_name)
    from .workflow import unit_scope
    app.jinja_env.globals.update(unit_file=unit_scope.is_unit_file,
                                 unit_insurance_label=unit_scope.insurance_label)
    from .workflow.pledge import shown as pledge_shown
    app.jinja_env.globals.update(pledge_shown=pledge_shown)
    from .workflow.notice_period import from_today, notice_text
    app.jinja_env.globals.update(notice_text=notice_text, notice_from_today=from_today)
    from .workflow.sessions import RECUSAL_LABELS, SESSION_STATUS_LABELS
    app.jinja_env.globals.update(
        session_status_label=lambda s: SESSION_STATUS_LABELS.get(s, s),
        recusal_label=lambda r: RECUSAL_LABELS.get(r, r))

    @app.route("/favicon.ico")
    def favicon():
        """No icon: answer at once instead of treating the name as a tenant."""
        resp = current_app.response_class(status=204)
        resp.headers["Cache-Control"] = "public, max-age=86400"
        return resp

    for code in (403, 404, 413, 429):
        app.register_error_handler(code, _error_page(code))


def _error_page(code: int):
    def handler(e):
        # Drawn before the refusal's audit row commits, which would expire the signed-in user
        # and read them again for the page.
        page = render_template("error.html", code=code)
        if code in REFUSALS:
            audit_refusal(code)
        return page, code
    return handler


REFUSALS = {403: "access_refused", 404: "access_not_found"}


def audit_refusal(code: int) -> None:
    """A refused request to a tenant's route (another org's or tenant's ids, a role's missing
    right) gets its audit row: who, from where, which endpoint and path. Unknown paths (no route
    matched) are not recorded."""
    if request.url_rule is None or "tenant_id" not in g:
        return
    from .workflow.actors import Actor
    from .workflow.transitions import audit
    db = current_app.extensions["sqlalchemy"]
    user = current_user if current_user and current_user.is_authenticated else None
    actor = (Actor.of(user, client_ip()) if user is not None
             else Actor(g.tenant_id, None, "anonymous", "anonymous", None, client_ip()))
    db.session.rollback()  # nothing the refused view wrote stays (the actor is read before)
    audit(actor, "requests", None, REFUSALS[code],
          reason=f"{request.method} {request.endpoint} {request.path}"[:500])
    db.session.commit()
