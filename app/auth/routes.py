from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from . import bp
from .forms import LoginForm, PasswordForm, RegisterForm
from ..extensions import limiter
from ..jobs.notify import dispatch
from ..web import client_ip, flash_error, keep_session, render_page, sign_in
from ..workflow import accounts, people
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError


def home_for(user) -> str:
    """Where a signed-in user starts: their home page, what is waiting for their office."""
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in to this tenant."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = people.authenticate(g.tenant_id, form.username.data, form.password.data,
                                       client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            sign_in(user)
            nxt = request.args.get("next", "")
            safe = nxt.startswith(f"/{g.tenant.slug}/") and not nxt.startswith("//")
            return redirect(nxt if safe else home_for(user), 303)
    return render_page("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out: this session and every other of the account end (audited)."""
    people.record_logout(Actor.of(current_user, client_ip()))
    logout_user()
    return redirect(url_for("public.home"), 303)


def registration_limit() -> str:
    return current_app.config["REGISTRATION_LIMIT"]


# Applicant and employer registration share one count per client address.
registration_limited = limiter.shared_limit(registration_limit, scope="register",
                                            methods=["POST"])


@bp.route("/register", methods=["GET", "POST"])
@registration_limited
def register():
    """Applicants register themselves and link to their employer (or association); the answer
    is the same whether or not the number already has an account."""
    form = RegisterForm()
    people.fill_register_choices(form, g.tenant, g.tenant_id)
    if form.validate_on_submit():
        try:
            notices = people.register_applicant(g.tenant, g.tenant_id, form.data, client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            dispatch(notices)  # committed: now only hand them to the queue
            flash(str(people.REGISTERED), "ok")
            return redirect(url_for("auth.login"), 303)
    return render_page("auth/register.html", form=form)


def _password_limit() -> str:
    return current_app.config["PASSWORD_CHANGE_LIMIT"]


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_password_limit, key_func=lambda: f"user:{current_user.get_id()}",
               methods=["POST"])
def password():
    """Change my password (current one, new one twice); my other sessions end (audited)."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current.data, form.new.data, client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            keep_session(user)
            flash(_("密码已修改；在其他设备上的登录已全部失效。"), "ok")
            return redirect(home_for(user), 303)
    return render_page("auth/password.html", form=form)
