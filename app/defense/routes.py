"""Defense pages: the agency's slots and assignments for a session, and the applicant's
defense notice (BJ-DEF-1)."""
import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .forms import SlotForm
from .pdf import notice_pdf
from ..extensions import db
from ..jobs.notify import dispatch
from ..models import ReviewSession, Role
from ..web import client_ip, flash_error, render_page
from ..workflow import defense
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError
from ..workflow.notify import OUTBOX_STATUS_LABELS


@bp.before_request
@login_required
def _signed_in():
    """Every defense page is for a signed-in user of this tenant."""


def _agency_session(session_id: int) -> ReviewSession:
    """A session of the signed-in clerk's agency in this tenant, else 404."""
    if current_user.role != Role.agency_clerk.value:
        abort(403)
    s = db.session.get(ReviewSession, session_id)
    if s is None or s.tenant_id != g.tenant_id or s.committee.agency_org_id != current_user.org_id:
        abort(404)
    return s


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
def schedule(session_id):
    """A session's defense slots and who defends when; add a slot."""
    s = _agency_session(session_id)
    form = SlotForm()
    if form.validate_on_submit():
        try:
            defense.create_slot(g.tenant, Actor.of(current_user, client_ip()), s,
                                starts_at=form.starts_at.data, place=form.place.data,
                                what_to_bring=form.what_to_bring.data or "",
                                capacity=form.capacity.data)
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已添加答辩场次。"), "ok")
            return redirect(url_for(".schedule", session_id=s.id), 303)
    slots, assigned, sms = defense.schedule(s)
    return render_page("defense/schedule.html", s=s, form=form, slots=slots, assigned=assigned,
                       sms=sms, key_of=defense.key_of, sms_labels=OUTBOX_STATUS_LABELS,
                       records=defense.records(s), record_labels=defense.DEFENSE_STATUS_LABELS,
                       defends=defense.defends(g.tenant, s.level),
                       open=s.status in defense.SCHEDULABLE)


@bp.route("/sessions/<int:session_id>/assign", methods=["POST"])
def assign(session_id):
    """Assign a file to a slot, or move it; the applicant is sent an SMS by a job."""
    s = _agency_session(session_id)
    try:
        sms = defense.assign(g.tenant, Actor.of(current_user, client_ip()), s,
                             request.form.get("item", 0, type=int),
                             request.form.get("slot", 0, type=int))[1]
    except TransitionError as e:
        flash_error(e)
    else:
        dispatch([sms.id])  # committed: now only hand it to the queue
        flash(_("已安排答辩，短信通知将发送给申报人。"), "ok")
    return redirect(url_for(".schedule", session_id=s.id), 303)


@bp.route("/sessions/<int:session_id>/record", methods=["POST"])
def record(session_id):
    """Record that a file's defense was held, or that the applicant was absent (BJ-DEF-1)."""
    s = _agency_session(session_id)
    try:
        defense.record_defense(g.tenant, Actor.of(current_user, client_ip()), s,
                               request.form.get("item", 0, type=int),
                               request.form.get("outcome", ""), request.form.get("note", ""))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已记录答辩情况。"), "ok")
    return redirect(url_for(".schedule", session_id=s.id, _anchor="records"), 303)


@bp.route("/applications/<int:app_id>/notice.pdf")
def notice(app_id):
    """Download the applicant's own defense notice (答辩通知书) as a PDF."""
    if current_user.role != Role.applicant.value:
        abort(403)
    a = defense.assignment_of(g.tenant_id, current_user.id, app_id)
    if a is None:
        abort(404)
    pdf = notice_pdf(g.tenant, a)
    defense.mark_downloaded(a)
    resp = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"答辩通知书-{a.item.code}.pdf", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.app_template_global()
def defense_assignment_of(application):
    """The defense assignment of an applicant's file, for a link to its notice (or None)."""
    return defense.assignment_of(application.tenant_id, application.applicant_id,
                                 application.id)
