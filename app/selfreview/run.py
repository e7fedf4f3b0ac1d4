"""A self-review unit at work (seed 002 第九条(一)–(四)): its office and staff, its rule
documents, yearly plans and committees, and opening a plan; the city HR bureau's approval of the
documents and filing of the committees."""
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload

from . import bp, uploaded_documents
from .. import navigation, uploads
from ..extensions import db
from ..jobs.notify import dispatch
from ..models import Committee, Role
from ..models.self_review_run import SelfReviewSetup, SelfReviewYearPlan
from ..web import client_ip, current_actor, flash_error, render_page
from ..workflow import experts
from ..workflow import self_review_run as svc
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError
from ..workflow.self_review import DOCUMENTS
from ..workflow.self_review_run import approved_scope
from ..workflow.transitions import transition


def _unit():
    """The signed-in clerk's approved self-review unit; these pages are hidden from others."""
    org = svc.unit_of(current_actor())
    if org is None:
        abort(404)
    return org


def _city_hr():
    if not svc.is_city_hr(current_actor()):
        abort(403)


def _back(endpoint: str = ".run", **kw):
    return redirect(url_for(endpoint, **kw), 303)


# -- the unit -----------------------------------------------------------------------------------

@bp.route("/run")
def run():
    """The unit's own page: office and staff, rule documents, yearly plans."""
    org = _unit()
    setup = svc.setup_of(g.tenant_id, org.id)
    plans = svc.year_plans(g.tenant_id, org.id)
    year = today_local().year
    current = next((p for p in plans if p.year == year), None)
    return render_page(
        "selfreview/run.html", org=org, setup=setup, staff=svc.office_staff(g.tenant_id, org.id),
        plans=plans, scope=approved_scope(g.tenant_id, org.id), documents=DOCUMENTS,
        doc_labels=svc.DOC_LABELS, plan_labels=svc.PLAN_LABELS, year=year,
        missing=svc.missing(g.tenant, g.tenant_id, org.id, current, year)
        if current is None or current.status != svc.OPEN else [],
        may_invite=current_user.role == Role.employer_clerk.value)


def _setup_for_action():
    actor = current_actor()
    _unit()
    try:
        return svc.ensure_setup(actor)
    except TransitionError as e:
        flash_error(e)
        return None


@bp.route("/run/office", methods=["POST"])
def run_office():
    setup = _setup_for_action()
    if setup is not None:
        try:
            transition(g.tenant, setup, "name_office", current_actor(),
                       expected_version=request.form.get("version", type=int),
                       office_name=request.form.get("office_name", ""),
                       office_contact=request.form.get("office_contact", ""),
                       opinion=request.form.get("office_name", ""))
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("专职机构已保存。"), "ok")
    return _back()


@bp.route("/run/staff", methods=["POST"])
def run_staff():
    _unit()
    try:
        user, ids = svc.invite_staff(g.tenant, current_user, {
            "name": request.form.get("name", ""), "mobile": request.form.get("mobile", ""),
            "username": request.form.get("username", "")}, client_ip())
    except TransitionError as e:
        flash_error(e)
    else:
        dispatch(ids)
        flash(_("设置密码的链接已通过短信发送给%(n)s。", n=user.name), "ok")
    return _back()


@bp.route("/run/documents", methods=["POST"])
def run_documents():
    setup = _setup_for_action()
    if setup is not None:
        documents = uploaded_documents(DOCUMENTS)
        try:
            svc.record_decision(g.tenant, current_actor(), setup, documents,
                                expected_version=request.form.get("version", type=int),
                                decision_body=request.form.get("decision_body", ""),
                                decided_on=request.form.get("decided_on", ""))
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("制度文件和集体决策情况已记录。"), "ok")
    return _back()


@bp.route("/run/documents/<action>", methods=["POST"])
def run_documents_act(action):
    if action not in ("record_publicity", "submit_documents"):
        abort(404)
    setup = _setup_for_action()
    if setup is not None:
        try:
            transition(g.tenant, setup, action, current_actor(),
                       expected_version=request.form.get("version", type=int),
                       publicity_from=request.form.get("publicity_from", ""),
                       publicity_to=request.form.get("publicity_to", ""))
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已办理。"), "ok")
    return _back()


def _send(setup: SelfReviewSetup, which: str):
    if which not in DOCUMENTS or not getattr(setup, f"{which}_stored"):
        abort(404)
    return uploads.send_stored(g.tenant.slug, getattr(setup, f"{which}_stored"),
                               mimetype=getattr(setup, f"{which}_mime"),
                               download_name=getattr(setup, f"{which}_filename"))


@bp.route("/run/documents/<which>/file")
def run_document(which):
    org = _unit()
    setup = svc.setup_of(g.tenant_id, org.id)
    if setup is None:
        abort(404)
    return _send(setup, which)


def _scope_choices(org):
    return [(f"{p['series']}:{p['level']}", svc.scope_label(g.tenant, p))
            for p in approved_scope(g.tenant_id, org.id)]


@bp.route("/run/plans/new", methods=["GET", "POST"])
def run_plan_new():
    """第九条(三): the yearly plan."""
    org = _unit()
    data, message, problems = {"year": str(today_local().year)}, None, []
    if request.method == "POST":
        form = request.form
        data = {k: form.get(k, "") for k in ("year", "apply_opens", "apply_closes",
                                             "review_opens", "review_closes", "procedure",
                                             "experts", "indicators", "groups")}
        data["scope"] = form.getlist("scope")
        try:
            row = svc.file_year_plan(g.tenant, current_actor(), data)
        except TransitionError as e:
            message, problems = e.message, e.problems
        else:
            flash(_("年度评审工作计划已制定。"), "ok")
            return _back(".run_plan", year=row.year)
    return render_page("selfreview/run_plan_new.html", org=org, data=data, message=message,
                       problems=problems, choices=_scope_choices(org))


def _year_plan(org, year: int) -> SelfReviewYearPlan:
    row = db.session.scalar(sa.select(SelfReviewYearPlan).filter_by(
        tenant_id=g.tenant_id, org_id=org.id, year=year))
    if row is None:
        abort(404)
    return row


@bp.route("/run/plans/<int:year>")
def run_plan(year):
    org = _unit()
    yp = _year_plan(org, year)
    series = sorted({p["series"] for p in yp.scope})
    pool = [e for e in experts.pool(g.tenant_id)
            if e.series in series and not e.exited_on and e.status == "approved"]
    return render_page(
        "selfreview/run_plan.html", org=org, yp=yp, plan_labels=svc.PLAN_LABELS,
        committees=svc.unit_committees(g.tenant_id, org.id), series=series, pool=pool,
        levels=sorted({p["level"] for p in yp.scope},
                      key=lambda lv: g.tenant.level(lv).rank if g.tenant.level(lv) else 0),
        missing=svc.missing(g.tenant, g.tenant_id, org.id, yp) if yp.status != svc.OPEN else [],
        scope_label=svc.scope_label)


@bp.route("/run/plans/<int:year>/committees", methods=["POST"])
def run_committee(year):
    """第九条(四): a committee for one series and a group of its levels."""
    org = _unit()
    yp = _year_plan(org, year)
    form = request.form
    try:
        svc.set_up_committee(g.tenant, current_actor(), yp, {
            "name": form.get("name", ""), "series": form.get("series", ""),
            "levels": form.getlist("levels"), "scope": form.get("scope", ""),
            "standard": form.get("standard", ""), "procedure": form.get("procedure", ""),
            "roster": form.getlist("roster")})
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("评委会已设立，待市人力资源社会保障局备案。"), "ok")
    return _back(".run_plan", year=year)


@bp.route("/run/plans/<int:year>/open", methods=["POST"])
def run_open(year):
    org = _unit()
    yp = _year_plan(org, year)
    try:
        transition(g.tenant, yp, "open_plan", current_actor(),
                   expected_version=request.form.get("version", type=int))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已开放申报，本单位人员可在申报时选择本计划。"), "ok")
    return _back(".run_plan", year=year)


# -- the city HR bureau -----------------------------------------------------------------------

@bp.route("/units")
def units():
    """Self-review units' rule documents and committees awaiting the bureau."""
    _city_hr()
    today = today_local()
    rows = db.session.scalars(sa.select(SelfReviewSetup).options(
        joinedload(SelfReviewSetup.org)).where(
        SelfReviewSetup.tenant_id == g.tenant_id).order_by(SelfReviewSetup.id)).all()
    rows.sort(key=lambda s: s.status != svc.SUBMITTED)
    return render_page("selfreview/units.html", rows=rows, labels=svc.DOC_LABELS,
                       committees=svc.committees_to_file(g.tenant_id), today=today,
                       until=date(today.year + 3, today.month, min(today.day, 28)))


def _setup(setup_id: int) -> SelfReviewSetup:
    _city_hr()
    s = db.session.get(SelfReviewSetup, setup_id)
    if s is None or s.tenant_id != g.tenant_id:
        abort(404)
    return s


@bp.route("/units/<int:setup_id>")
def unit(setup_id):
    s = _setup(setup_id)
    return render_page("selfreview/unit.html", s=s, labels=svc.DOC_LABELS, documents=DOCUMENTS,
                       staff=svc.office_staff(g.tenant_id, s.org_id),
                       plans=svc.year_plans(g.tenant_id, s.org_id),
                       plan_labels=svc.PLAN_LABELS, scope_label=svc.scope_label)


@bp.route("/units/<int:setup_id>/<action>", methods=["POST"])
def unit_act(setup_id, action):
    s = _setup(setup_id)
    if action not in svc.HR_ACTIONS:
        abort(404)
    try:
        transition(g.tenant, s, action, current_actor(),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已办理。"), "ok")
    return _back(".unit", setup_id=s.id)


@bp.route("/units/<int:setup_id>/documents/<which>")
def unit_document(setup_id, which):
    return _send(_setup(setup_id), which)


@bp.route("/unit-committees/<int:committee_id>/file", methods=["POST"])
def unit_committee_file(committee_id):
    """The bureau files a unit's committee (AE-COMM-1) for the dates it sets."""
    _city_hr()
    c = db.session.get(Committee, committee_id)
    if c is None or c.tenant_id != g.tenant_id or c.agency is None \
            or c.agency.kind != "self_review_unit":
        abort(404)
    try:
        filed_on = date.fromisoformat(request.form.get("filed_on", ""))
        valid_until = date.fromisoformat(request.form.get("valid_until", ""))
    except ValueError:
        flash(_("请填写备案日期和有效期（年-月-日）。"), "error")
        return _back(".units")
    try:
        svc.file_unit_committee(g.tenant, current_actor(), c, filed_on, valid_until)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("评委会已备案。"), "ok")
    return _back(".units")


def _shows_run(cfg, user) -> bool:
    return user.role in svc.UNIT_ROLES and user.org is not None \
        and user.org.kind in svc.UNIT_KINDS and bool(approved_scope(user.tenant_id, user.org_id))


navigation.register("selfreview.run", _l("职称自主评审工作"), _shows_run)
navigation.register("selfreview.units", _l("自主评审单位制度文件与评委会"),
                    lambda cfg, user: svc.is_city_hr(user))
