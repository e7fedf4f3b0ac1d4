import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .forms import ApprovalForm
from ..extensions import db
from ..jobs import console
from ..models import Org
from ..web import client_ip, flash_error, render_page
from ..tenancy import label
from ..workflow import abilities, orgtree, queries, registrations
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError
from ..workflow.people import EMPLOYER_KIND_LABELS, ENTERPRISE_FLAG_LABELS


@bp.before_request
@login_required
def _staff_only():
    if not abilities.may_see_console(current_user):
        abort(403)


def _approval_form(org: Org, depts: list[Org] | None = None) -> ApprovalForm:
    """The corrections form of one registration, preset to what the employer chose."""
    form = ApprovalForm(prefix=f"o{org.id}", district=org.district, tier=org.tier or "county",
                        parent_id=str(org.parent_id or ""), employer_kind=org.employer_kind)
    form.district.choices = [(d.code, label(d)) for d in g.tenant.tenant.districts]
    form.employer_kind.choices = [(k.value, EMPLOYER_KIND_LABELS[k.value])
                                  for k in g.tenant.tenant.employer_kinds]
    orgtree.fill_place_choices(form, g.tenant, g.tenant_id, registrations.REGISTRATION_TIERS,
                               depts=depts)
    return form


@bp.route("/employers")
def employers():
    """Employers awaiting this HR bureau's approval, each with its corrections form."""
    # Only a bureau that may decide is shown the registrations (and their buttons).
    pending = (queries.pending_employers(g.tenant_id, current_user.org)
               if abilities.may_approve_employers(g.tenant, current_user) else [])
    depts = orgtree.departments(g.tenant_id)
    return render_page("admin/employers.html", pending=pending, kinds=EMPLOYER_KIND_LABELS,
                       flags=ENTERPRISE_FLAG_LABELS,
                       forms={o.id: _approval_form(o, depts) for o in pending})


@bp.route("/employers/<int:org_id>/<action>", methods=["POST"])
def decide(org_id, action):
    """Approve (with the district, tier, department and kind as corrected) or reject an
    employer's registration."""
    org = db.session.scalar(sa.select(Org).filter_by(id=org_id, tenant_id=g.tenant_id))
    if org is None or action not in ("approve", "reject"):
        abort(404)
    form = _approval_form(org)
    corrections = ({k: form[k].data for k in registrations.CORRECTABLE}
                   if action == "approve" else {})
    try:
        handed_over = registrations.decide_registration(
            g.tenant, current_user, org, action, corrections,
            request.form.get("version", type=int), request.form.get("opinion", ""), client_ip())
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("单位信息已更正，已转交所在区（旗县）人社部门审核。") if handed_over
              else _("已办理。"), "ok")
    return redirect(url_for(".employers"), 303)


@bp.route("/jobs")
def jobs():
    """The job console: jobs scheduled, queued and running, then the runs recorded."""
    return render_page("admin/jobs.html", waiting=console.waiting(g.tenant_id),
                       runs=console.runs(g.tenant_id), **_console_ctx())


@bp.route("/jobs/<ref>")
def job(ref):
    """One job's row; while it is queued or running the row asks again every 2 s."""
    e = console.entry(g.tenant_id, ref)
    if e is None:
        abort(404)
    return render_page("admin/job.html", "admin/_job.html", e=e, **_console_ctx())


@bp.route("/jobs/<int:run_id>/retry", methods=["POST"])
def retry_job(run_id):
    """Put a failed job back on the queue with its function and arguments (administrators)."""
    if not abilities.may_retry_jobs(current_user):
        abort(403)
    try:
        console.retry(g.tenant_id, run_id, Actor.of(current_user, client_ip()))
    except LookupError:
        abort(404)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("任务已重新排队。"), "ok")
    return redirect(url_for(".jobs"), 303)


def _console_ctx() -> dict:
    return {"job_status": lambda s: console.STATUS_LABELS.get(s, s),
            "may_retry": abilities.may_retry_jobs(current_user)}
