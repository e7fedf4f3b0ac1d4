"""Results: acceptance, public notices (no account needed), objections, re-checks."""
import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from ..extensions import db, limiter
from ..models import Application, Org, ReviewSession, Role
from .. import uploads
from ..models.results import Objection, Publication, PublicationFile, Recheck
from ..tenancy import label
from ..web import client_ip, flash_error, render_page
from ..workflow import abilities, queries
from ..workflow import results as svc
from ..workflow.actors import Actor
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError
from ..workflow.transitions import transition

STAFF = abilities.STAFF_ROLES


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def _row(model, obj_id):
    obj = db.session.get(model, obj_id)
    if obj is None or obj.tenant_id != g.tenant_id:
        abort(404)
    return obj


def _staff(*roles):
    if not current_user.is_authenticated:
        abort(401)
    if current_user.role not in (roles or STAFF):
        abort(403)


def _acceptors_only():
    """Acceptance is the city HR bureau's: another bureau is refused whatever the id."""
    _staff(Role.hr_officer.value, Role.tenant_admin.value)
    if not abilities.may_accept_results(current_user):
        abort(403)


def _attempt(endpoint: str, action, **values):
    """Run one service call; flash its refusal or 已办理, then 303 to `endpoint`."""
    try:
        action()
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(endpoint, **values), 303)


def _decide(subject, action: str) -> None:
    """A form's decision on a publication or an objection, through the transition service."""
    transition(g.tenant, subject, action, _actor(), opinion=request.form.get("opinion", ""),
               expected_version=request.form.get("version", type=int))


# -- public ---------------------------------------------------------------------------------

@bp.route("/")
def notices():
    """Result notices now running, by publishing office (no account needed)."""
    today = today_local()
    pubs = svc.notices(g.tenant_id, request.args.get("publisher", type=int), today)
    publishers = db.session.scalars(sa.select(Org).where(Org.id.in_(
        sa.select(Publication.publisher_org_id).filter_by(tenant_id=g.tenant_id)))).all()
    return render_page("results/notices.html", pubs=pubs, rows={p.id: svc.notice_rows(p)
                                                                 for p in pubs},
                       publishers=publishers, today=today, in_notice=svc.in_notice)


@bp.route("/notices/<int:pub_id>/objections/<int:app_id>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["OBJECTION_LIMIT"], methods=["POST"])
def objection(pub_id, app_id):
    """Lodge an objection to one published result (evidence, lead, target and facts)."""
    pub = _row(Publication, pub_id)
    row = next((r for r in svc.notice_rows(pub) if r["application_id"] == app_id), None)
    if row is None:
        abort(404)
    if request.method == "POST":
        try:
            obj = svc.lodge_objection(g.tenant, g.tenant_id, pub, app_id, request.form, client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            if obj.status == "refused":
                flash(obj.refusal_reason, "error")
            else:
                flash(_("异议已受理，编号%(n)d，已转%(o)s核查。", n=obj.id,
                        o=label(obj.routed_to)), "ok")
                return redirect(url_for(".notices"), 303)
    return render_page("results/objection.html", pub=pub, row=row, kinds=svc.OBJECTION_KINDS,
                       form=request.form)


# -- agency: report results; city HR: accept ----------------------------------------------------

@bp.route("/sessions/<int:session_id>/report", methods=["POST"])
@login_required
def report(session_id):
    """The agency reports a closed session's results for acceptance."""
    _staff(Role.agency_clerk.value)
    s = _row(ReviewSession, session_id)
    return _attempt("agency.session_detail", lambda: svc.request_acceptance(
        g.tenant, _actor(), s, request.form.get("report", "")), session_id=s.id)


@bp.route("/sessions/<int:session_id>/publicise", methods=["POST"])
@login_required
def publicise(session_id):
    """The committee office opens the notice of a closed session's results (CF-WIN-3)."""
    _staff(Role.agency_clerk.value)
    s = _row(ReviewSession, session_id)
    return _attempt("agency.session_detail", lambda: svc.publicise(g.tenant, _actor(), s),
                    session_id=s.id)


@bp.route("/publications/<int:pub_id>/documents", methods=["POST"])
@login_required
def upload(pub_id):
    """Upload one of the documents reported with the results (CF-RESULT-1)."""
    _staff(Role.agency_clerk.value)
    pub = _row(Publication, pub_id)
    f = request.files.get("file")
    return _attempt("agency.session_detail", lambda: svc.add_document(
        g.tenant, _actor(), pub, request.form.get("kind", ""), f.filename if f else "",
        f.read(current_app.config["MAX_UPLOAD_BYTES"] + 1) if f else b""),
        session_id=pub.session_id)


@bp.route("/publications/<int:pub_id>/documents/<int:file_id>")
@login_required
def document(pub_id, file_id):
    """Download a reported document: the reporting office and the city HR bureau."""
    _staff(Role.agency_clerk.value, Role.hr_officer.value, Role.tenant_admin.value)
    pub = _row(Publication, pub_id)
    actor = _actor()
    if not (svc._is_reporting_agency(actor, pub) or svc._is_city_hr(actor, pub)):
        abort(404)
    f = db.session.get(PublicationFile, file_id)
    if f is None or f.publication_id != pub.id:
        abort(404)
    return uploads.send_stored(g.tenant.slug, f.stored_name, mimetype=f.mime,
                               download_name=f.filename)


@bp.route("/acceptance")
@login_required
def acceptance():
    """Results awaiting the city HR bureau's acceptance or confirmation."""
    _acceptors_only()
    pubs = svc.pending_acceptance(g.tenant_id)
    return render_page("results/acceptance.html", pubs=pubs,
                       panels={p.id: svc.panel(g.tenant, p.session, p) for p in pubs})


@bp.route("/publications/<int:pub_id>/<action>", methods=["POST"])
@login_required
def decide(pub_id, action):
    """Accept (the notice opens) or send back with reasons."""
    _acceptors_only()
    pub = _row(Publication, pub_id)
    if action not in ("accept", "send_back"):
        abort(404)
    return _attempt(".acceptance", lambda: _decide(pub, action))


# -- objections routed to an office ---------------------------------------------------------------

@bp.route("/objections")
@login_required
def objections():
    """Objections routed to this office, to look into and resolve."""
    _staff()
    return render_page("results/objections.html", rows=svc.objections_for(_actor()),
                       kinds=svc.OBJECTION_KINDS)


@bp.route("/objections/<int:obj_id>/<action>", methods=["POST"])
@login_required
def resolve(obj_id, action):
    """Uphold (the result is annulled) or reject an objection, with the finding."""
    _staff()
    obj = _row(Objection, obj_id)
    if action not in ("uphold", "reject") or obj.routed_org_id != current_user.org_id:
        abort(404)
    return _attempt(".objections", lambda: _decide(obj, action))


# -- re-checks --------------------------------------------------------------------------------------

@bp.route("/mine", methods=["GET", "POST"])
@login_required
def mine():
    """The applicant's results; request a re-check of one."""
    _staff(Role.applicant.value)
    if request.method == "POST":
        app = _row(Application, request.form.get("application", type=int) or 0)
        return _attempt(".mine", lambda: svc.request_recheck(_actor(), app,
                                                             request.form.get("reason", "")))
    apps = queries.applications_of(current_user)
    ids = [a.id for a in apps] or [0]
    checks = db.session.scalars(sa.select(Recheck).where(Recheck.application_id.in_(ids))).all()
    return render_page("results/mine.html", apps=apps, checks=checks,
                       items=svc.session_items_of(ids))


@bp.route("/rechecks", methods=["GET", "POST"])
@login_required
def rechecks():
    """Re-check requests on this agency's sessions, answered from the sealed tally."""
    _staff(Role.agency_clerk.value)
    if request.method == "POST":
        r = _row(Recheck, request.form.get("recheck", type=int) or 0)
        return _attempt(".rechecks", lambda: svc.answer_recheck(_actor(), r))
    return render_page("results/rechecks.html", rows=svc.rechecks_for_agency(_actor()))
