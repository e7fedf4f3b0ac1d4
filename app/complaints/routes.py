"""Complaints and reports (AE-COMPLAIN-1): lodged by anyone, looked up by reference code,
answered by the office they were routed to."""
from flask import (
    abort, current_app, flash, g, redirect, request, session, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .. import uploads
from ..extensions import db, limiter
from ..models.oversight import Complaint
from ..web import client_ip, current_actor, flash_error, render_page
from ..workflow import complaints as svc
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError
from ..workflow.transitions import transition


def _choices() -> dict:
    return {"kinds": svc.KINDS, "agencies": svc.agencies(g.tenant_id),
            "employers": svc.employers(g.tenant_id)}


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["OBJECTION_LIMIT"], methods=["POST"])
def new():
    """Lodge a complaint or report (evidence, lead, target and facts), signed in or not."""
    if request.method == "POST":
        f = request.files.get("evidence_file")
        upload = (f.filename, f.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)) if f else None
        user = current_user if current_user.is_authenticated else None
        try:
            c = svc.lodge(g.tenant, g.tenant_id, request.form, upload, user=user, ip=client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            if c.status != "refused":  # 303, so a refresh cannot lodge it twice
                session["complaint_code"] = c.code
                flash(_("已受理，将于%(d)s前答复。", d=c.due_on.isoformat()), "ok")
                return redirect(url_for(".lookup"), 303)
            return render_page("complaints/new.html", form=request.form, refused=c,
                               **_choices())
    return render_page("complaints/new.html", form=request.form, refused=None, **_choices())


@bp.route("/lookup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["OBJECTION_LIMIT"], methods=["POST"])
def lookup():
    """Read a complaint's handling and answer by its reference code (no account needed)."""
    # The complaint this browser just lodged is shown with its code, to write down.
    c = svc.by_code(g.tenant_id, session.get("complaint_code", "")) \
        if request.method == "GET" else None
    if request.method == "POST":
        c = svc.by_code(g.tenant_id, request.form.get("code", ""))
        if c is None:
            flash(_("未查到该查询码，请核对后再试。"), "error")
    return render_page("complaints/lookup.html", c=c, status=svc.STATUS_LABELS,
                       outcomes=svc.OUTCOME_LABELS, kinds=svc.KINDS,
                       overdue=bool(c and svc.overdue(c, today_local())))


@bp.route("/mine")
@login_required
def mine():
    """Complaints I lodged while signed in, with their answers."""
    return render_page("complaints/mine.html", rows=svc.of_user(current_user),
                       status=svc.STATUS_LABELS, outcomes=svc.OUTCOME_LABELS, kinds=svc.KINDS)


@bp.route("/inbox")
@login_required
def inbox():
    """Complaints routed to this office, to look into and answer by their due day."""
    if current_user.role not in svc.ANSWERING_ROLES:
        abort(403)
    return render_page("complaints/inbox.html", rows=svc.routed_to(current_actor()), today=today_local(),
                       status=svc.STATUS_LABELS, outcomes=svc.OUTCOME_LABELS, kinds=svc.KINDS,
                       overdue=svc.overdue)


def _routed(complaint_id: int) -> Complaint:
    """A complaint of this tenant routed to the user's office (the city HR bureau: any)."""
    c = db.session.get(Complaint, complaint_id)
    if c is None or c.tenant_id != g.tenant_id or not (
            c.routed_org_id == current_user.org_id or svc.is_city_hr(current_actor())):
        abort(404)
    return c


@bp.route("/<int:complaint_id>/answer", methods=["POST"])
@login_required
def answer(complaint_id):
    """Answer a complaint with the finding; the complainant reads it by the reference code."""
    if current_user.role not in svc.ANSWERING_ROLES:
        abort(403)
    c = _routed(complaint_id)
    try:
        transition(g.tenant, c, "answer", current_actor(), opinion=request.form.get("opinion", ""),
                   outcome=request.form.get("outcome"),
                   expected_version=request.form.get("version", type=int))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已答复。"), "ok")
    return redirect(url_for(".inbox"), 303)


@bp.route("/<int:complaint_id>/evidence")
@login_required
def evidence(complaint_id):
    """Download the evidence uploaded with a complaint: its office and the city HR bureau."""
    if current_user.role not in (*svc.ANSWERING_ROLES, "tenant_admin"):
        abort(403)
    c = _routed(complaint_id)
    if not c.evidence_stored:
        abort(404)
    return uploads.send_stored(g.tenant.slug, c.evidence_stored, mimetype=c.evidence_mime,
                               download_name=c.evidence_filename or "evidence")
