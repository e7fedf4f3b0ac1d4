"""Applying to become a self-review unit (seed 002 第五条、第七条、第八条): the unit's
application, its recommending office's opinion, the city HR bureau's evaluation group, findings
and decision."""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import bp, uploaded_documents
from .. import uploads
from ..extensions import db
from ..models.self_review import SelfReviewApplication
from ..tenancy import label
from ..web import current_actor, flash_error, render_page
from ..workflow import entrustment, unit_scope
from ..workflow import self_review as svc
from ..workflow.errors import TransitionError
from ..workflow.transitions import transition

EXPERT_ROWS = 6
SEES = svc.VIEWER_ROLES


@bp.before_request
@login_required
def _signed_in():
    pass


def _application(sr_id: int) -> SelfReviewApplication:
    if current_user.role not in SEES:
        abort(403)
    a = db.session.get(SelfReviewApplication, sr_id)
    if a is None or not svc.may_see(current_actor(), a):
        abort(404)
    return a


def _choices() -> list[tuple[str, str]]:
    """Series (any specialty) and each of their specialties, as "series:specialty" keys."""
    out = []
    for s in g.tenant.tenant.series:
        out.append((f"{s.code}:", label(s)))
        out += [(f"{s.code}:{sp.code}", f"{label(s)} · {label(sp)}") for sp in s.specialties]
    return out


@bp.route("/")
def index():
    if current_user.role not in SEES:
        abort(403)
    actor = current_actor()
    return render_page("selfreview/index.html", rows=svc.visible(actor),
                       labels=svc.STATUS_LABELS, unit_types=svc.UNIT_TYPES,
                       unit=svc.may_apply(actor))


@bp.route("/apply", methods=["GET", "POST"])
def apply():
    actor = current_actor()
    unit = svc.may_apply(actor)
    if unit is None:
        abort(403)
    data, problems, message = {}, [], None
    if request.method == "POST":
        form = request.form
        data = {
            "unit_type": form.get("unit_type", ""), "legal_person": bool(form.get("legal_person")),
            "institution_kind": form.get("institution_kind", ""),
            "total_staff": form.get("total_staff", ""),
            "professional_staff": form.get("professional_staff", ""),
            "scope": form.getlist("scope"),
            "experts": [{"key": form.get(f"expert_key_{i}", ""),
                         "count": form.get(f"expert_count_{i}", "")} for i in range(EXPERT_ROWS)],
            "influence": form.get("influence", ""), "relaxation": form.get("relaxation", ""),
            "department_org_id": form.get("department_org_id", ""),
        }
        documents = uploaded_documents(svc.DOCUMENTS)
        try:
            row = svc.file(g.tenant, actor, data, documents)
        except TransitionError as e:
            message, problems = e.message, e.problems
        else:
            flash(_("申请已提交。"), "ok")
            return redirect(url_for(".detail", sr_id=row.id), 303)
    parent = unit.parent if unit.parent and unit.parent.kind == "department" else None
    return render_page(
        "selfreview/apply.html", unit=unit, data=data, problems=problems, message=message,
        unit_types=svc.UNIT_TYPES, ownership=svc.OWNERSHIP, specialties=_choices(),
        institution_kinds=entrustment.INSTITUTION_KINDS,
        rows=range(EXPERT_ROWS), departments=svc.departments(g.tenant_id), parent=parent,
        minimum=svc.percent(g.tenant.policies.self_review.min_professional_share),
        documents=svc.DOCUMENTS, http_status=200)


@bp.route("/<int:sr_id>")
def detail(sr_id):
    a = _application(sr_id)
    actor = current_actor()
    return render_page(
        "selfreview/detail.html", a=a, labels=svc.STATUS_LABELS, unit_types=svc.UNIT_TYPES,
        institution_kinds=entrustment.INSTITUTION_KINDS,
        ownership=svc.OWNERSHIP, aspects=svc.ASPECTS, documents=svc.DOCUMENTS,
        share=svc.percent(a.share),
        minimum=svc.percent(g.tenant.policies.self_review.min_professional_share),
        below=a.share < g.tenant.policies.self_review.min_professional_share,
        recommending=svc._is_recommender(actor, a) and a.status == svc.AWAITING_RECOMMENDATION,
        evaluating=svc._is_city_hr(actor, a) and a.status in (svc.AWAITING_EVALUATION,
                                                               svc.IN_EVALUATION))


@bp.route("/<int:sr_id>/<action>", methods=["POST"])
def act(sr_id, action):
    a = _application(sr_id)
    if action not in svc.ACTIONS:
        abort(404)
    try:
        transition(g.tenant, a, action, current_actor(),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""),
                   group=request.form.get("group", ""),
                   findings={k: request.form.get(f"finding_{k}", "") for k in svc.ASPECTS},
                   approved=request.form.getlist("approved"))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(".detail", sr_id=a.id), 303)


@bp.route("/<int:sr_id>/documents/<which>")
def document(sr_id, which):
    a = _application(sr_id)
    if which not in svc.DOCUMENTS:
        abort(404)
    return uploads.send_stored(g.tenant.slug, getattr(a, f"{which}_stored"),
                               mimetype=getattr(a, f"{which}_mime"),
                               download_name=getattr(a, f"{which}_filename"))


# -- supervision of self-review units (SR-SUPERV-1) ------------------------------------------------

@bp.route("/supervision")
def supervision():
    """The city HR bureau's list of units' refused attempts beyond their filed staff, series or
    levels, newest first."""
    if not unit_scope.may_supervise(current_user):
        abort(403)
    return render_page("selfreview/supervision.html",
                       rows=unit_scope.events(g.tenant_id), kinds=unit_scope.KIND_LABELS)


# -- academic review entrusted by a university or party school (BJ23-SELF-1) -----------------------

@bp.route("/entrustments", methods=["GET", "POST"])
def entrustments():
    """A unit files its entrustment and follows it; the entrusted body accepts or declines."""
    actor = current_actor()
    if not entrustment.may_see_page(actor):
        abort(403)
    unit, approval, why = entrustment.may_entrust(g.tenant, actor)
    message, problems = None, []
    if request.method == "POST":
        try:
            entrustment.file(g.tenant, actor, entrusted_org_id=request.form.get("entrusted_org_id"),
                             year=request.form.get("year"), scope=request.form.getlist("scope"),
                             note=request.form.get("note", ""))
        except TransitionError as e:
            message, problems = e.message, e.problems
        else:
            flash(_("委托已提交。"), "ok")
            return redirect(url_for(".entrustments"), 303)
    scope = [(f"{p['series']}:{p['level']}",
              f"{label(g.tenant.series(p['series']))} · {label(g.tenant.level(p['level']))}")
             for p in (approval.approved_scope if approval is not None else [])]
    from ..workflow.calendar import today_local
    return render_page("selfreview/entrustments.html", rows=entrustment.visible(actor),
                       labels=entrustment.STATUS_LABELS, unit=unit, why=why, scope=scope,
                       bodies=entrustment.bodies(g.tenant, g.tenant_id), message=message,
                       problems=problems, year=today_local().year,
                       entrusted=current_user.role in entrustment.ENTRUSTED_ROLES,
                       http_status=200)


def _entrusted_role():
    if current_user.role not in entrustment.ENTRUSTED_ROLES:
        abort(403)


@bp.route("/entrustments/<int:en_id>/<action>", methods=["POST"])
def entrustment_act(en_id, action):
    _entrusted_role()
    actor = current_actor()
    e = entrustment.entrustment_for(actor, en_id)
    if e is None or action not in entrustment.ACTIONS:
        abort(404)
    try:
        transition(g.tenant, e, action, actor,
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""))
    except TransitionError as err:
        flash_error(err)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(".entrustments"), 303)


@bp.route("/entrustments/<int:en_id>/files")
def entrusted_files(en_id):
    """The entrusted body's list: the unit's files in the entrusted year, series and levels."""
    _entrusted_role()
    actor = current_actor()
    e = entrustment.entrustment_for(actor, en_id)
    if e is None or e.entrusted_org_id != actor.org_id or e.status != entrustment.ACCEPTED:
        abort(404)
    files = entrustment.files_of(e)
    return render_page("selfreview/entrusted_files.html", e=e, files=files,
                       opinions=entrustment.opinions_of(a.id for a in files))


def _entrusted(app_id: int):
    _entrusted_role()
    found = entrustment.entrusted_file(current_actor(), app_id)
    if found is None:
        abort(404)
    return found


@bp.route("/entrusted/<int:app_id>", methods=["GET", "POST"])
def entrusted_file(app_id):
    """One entrusted file, and the academic review opinion on it."""
    app, e = _entrusted(app_id)
    if request.method == "POST":
        try:
            transition(g.tenant, app, "academic_opinion", current_actor(),
                       expected_version=request.form.get("version", type=int),
                       verdict=request.form.get("verdict"),
                       opinion=request.form.get("opinion", ""))
        except TransitionError as err:
            flash_error(err)
        else:
            flash(_("学术评议意见已记录。"), "ok")
        return redirect(url_for(".entrusted_file", app_id=app.id), 303)
    from ..workflow.applications import SECTION_TITLES, section_fields
    return render_page("selfreview/entrusted_file.html", app=app, e=e,
                       opinion=entrustment.opinions_of([app.id]).get(app.id),
                       reviewable=app.status in entrustment.REVIEWABLE,
                       fields=section_fields(g.tenant), titles=SECTION_TITLES,
                       download_endpoint="selfreview.entrusted_download")


@bp.route("/entrusted/<int:app_id>/attachments/<int:att_id>")
def entrusted_download(app_id, att_id):
    app, _e = _entrusted(app_id)
    att = next((a for a in app.attachments if a.id == att_id), None)
    if att is None:
        abort(404)
    return uploads.send_stored(g.tenant.slug, att.stored_name, mimetype=att.mime,
                               download_name=att.filename)


def _sees_entrustments(cfg, user) -> bool:
    """The entrusted bodies' clerks and the self-review units' staff, where the tenant names
    bodies that may be entrusted."""
    bodies, org = cfg.policies.self_review.academic_review_bodies, user.org
    if not bodies or org is None:
        return False
    if user.role in entrustment.ENTRUSTED_ROLES:
        return org.code in bodies
    return user.role in entrustment.UNIT_ROLES and org.kind == "self_review_unit"


from ..navigation import register as _nav  # noqa: E402
_nav("selfreview.supervision", _l("自主评审监督记录"),
     lambda cfg, user: unit_scope.may_supervise(user))
_nav("selfreview.entrustments", _l("委托学术评议"), _sees_entrustments)
