"""Staff accounts of an office: the list, invitations, disabling, re-enabling and resets; and
the page where an invited person sets a password through the one-time link."""
import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from .forms import InviteForm, SetupForm
from ..extensions import db
from ..jobs.notify import dispatch
from ..models import Org, Role, User
from ..web import client_ip, flash_error, render_page
from ..workflow import staff
from ..workflow.errors import TransitionError

ACTIONS = {"disable": staff.disable, "enable": staff.enable, "reset": staff.reset,
           "make_admin": lambda cfg, m, u, ip: staff.set_office_admin(cfg, m, u, True, ip),
           "unmake_admin": lambda cfg, m, u, ip: staff.set_office_admin(cfg, m, u, False, ip)}
PUBLIC = {"staff.setup"}


@bp.before_request
def _staff_only():
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        from flask import current_app
        return current_app.login_manager.unauthorized()
    if current_user.role in (Role.applicant.value, Role.expert.value):
        abort(403)
    return None


def _office(org_id: int) -> Org:
    """The office, when the signed-in user manages its accounts; 404 otherwise."""
    org = db.session.scalar(sa.select(Org).filter_by(id=org_id, tenant_id=g.tenant_id))
    if org is None or not staff.may_manage_office(g.tenant, current_user, org):
        abort(404)
    return org


def _invite_form(org: Org) -> InviteForm:
    form = InviteForm()
    form.role.choices = [(r, staff.ROLE_LABELS[r]) for r in staff.ROLES_FOR_KIND.get(org.kind, ())]
    return form


@bp.route("/offices/<int:org_id>")
def accounts(org_id):
    """An office's staff accounts with their state, and the invitation form."""
    org = _office(org_id)
    return render_page("staff/accounts.html", org=org, users=staff.accounts_of(org),
                       form=_invite_form(org), state=staff.state,
                       state_labels=staff.STATE_LABELS, role_labels=staff.ROLE_LABELS)


@bp.route("/offices/<int:org_id>/invite", methods=["POST"])
def invite(org_id):
    """Invite a person by mobile number with a role; the one-time link goes out by SMS."""
    org = _office(org_id)
    form = _invite_form(org)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(url_for(".accounts", org_id=org.id), 303)
    try:
        ids = staff.invite(g.tenant, current_user, org, form.data, client_ip())[1]
    except TransitionError as e:
        flash_error(e)
    else:
        dispatch(ids)
        flash(_("账号已添加，设置密码的链接已通过短信发送。"), "ok")
    return redirect(url_for(".accounts", org_id=org.id), 303)


@bp.route("/accounts/<int:user_id>/<action>", methods=["POST"])
def account_action(user_id, action):
    """Disable, re-enable or reset (a new one-time link by SMS) a staff account; give or take
    its office-administrator flag."""
    user = db.session.scalar(sa.select(User).filter_by(id=user_id, tenant_id=g.tenant_id))
    if (user is None or action not in ACTIONS or user.org is None
            or not staff.may_manage_office(g.tenant, current_user, user.org)):
        abort(404)
    try:
        ids = ACTIONS[action](g.tenant, current_user, user, client_ip())
    except TransitionError as e:
        flash_error(e)
    else:
        dispatch(ids or [])
        flash(_("已办理。"), "ok")
    return redirect(url_for(".accounts", org_id=user.org_id), 303)


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def setup(token):
    """Set a password through a one-time link; then the account signs in as usual."""
    user = staff.by_token(g.tenant_id, token)
    if user is None:
        return render_page("staff/setup.html", user=None, form=None, http_status=404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            staff.set_password(g.tenant_id, token, form.password.data, client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("密码已设置，请用登录名%(u)s登录。", u=user.username), "ok")
            return redirect(url_for("auth.login"), 303)
    return render_page("staff/setup.html", user=user, form=form)
