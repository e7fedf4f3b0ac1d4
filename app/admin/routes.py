import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from ..extensions import db
from ..models import JobRun, Org, Role
from ..web import client_ip, flash_error, render_page
from ..workflow import queries
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError
from ..workflow.people import EMPLOYER_KIND_LABELS
from ..workflow.transitions import transition


@bp.before_request
@login_required
def _staff_only():
    if current_user.role not in (Role.hr_officer.value, Role.tenant_admin.value):
        abort(403)


@bp.route("/employers")
def employers():
    """Employers awaiting this HR bureau's approval."""
    pending = queries.pending_employers(g.tenant_id, current_user.org)
    return render_page("admin/employers.html", pending=pending, kinds=EMPLOYER_KIND_LABELS)


@bp.route("/employers/<int:org_id>/<action>", methods=["POST"])
def decide(org_id, action):
    """Approve or reject an employer's registration."""
    org = db.session.scalar(sa.select(Org).filter_by(id=org_id, tenant_id=g.tenant_id))
    if org is None or action not in ("approve", "reject"):
        abort(404)
    try:
        transition(g.tenant, org, action, Actor.of(current_user, client_ip()),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(".employers"), 303)


@bp.route("/jobs")
def jobs():
    """Deadline job runs of this tenant: when, what, how many rows changed."""
    runs = db.session.scalars(sa.select(JobRun).filter_by(tenant_id=g.tenant_id)
                              .order_by(JobRun.id.desc()).limit(100)).all()
    return render_page("admin/jobs.html", runs=runs)
