"""The expert pool's pages: nominations by the recommending offices (and the agency's
invitations), the agency's vetting, the city HR bureau's approval, the expert's own data, the
checks of their changes, pre-review training and the yearly assessment."""
import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .forms import NominationForm, ProfileForm
from ..extensions import db
from ..models import Expert, ReviewSession, Role
from ..models.expert_pool import ExpertChange
from ..tenancy import label
from ..tenancy.schema import OrgKind
from ..web import current_actor, flash_error, render_page
from ..workflow import expert_pool as svc
from ..workflow import queries
from ..workflow.calendar import today_local
from ..workflow.directed import is_city_hr
from ..workflow.errors import TransitionError
from ..workflow.experts import EXIT_REASONS, term_end
from ..workflow.transitions import transition


@bp.before_request
@login_required
def _signed_in():
    pass


def _only(*roles: str) -> None:
    if current_user.role not in roles:
        abort(403)


def _agency() -> None:
    _only(Role.agency_clerk.value)


def _city_hr() -> None:
    if current_user.role != Role.hr_officer.value or not is_city_hr(current_user.org_id):
        abort(403)


def _expert(expert_id: int) -> Expert:
    e = db.session.get(Expert, expert_id)
    if e is None or e.tenant_id != g.tenant_id:
        abort(404)
    return e


def _series_choices(form) -> None:
    form.series.choices = [(s.code, label(s)) for s in g.tenant.tenant.series]
    form.specialty.choices = [("", "—")] + [(sp.code, f"{label(s)} · {label(sp)}")
                                            for s in g.tenant.tenant.series
                                            for sp in s.specialties]
    form.employer_org_id.choices = [(0, "—")] + [
        (o.id, label(o)) for o in queries.org_choices(g.tenant_id)["employers"]]


def _agencies():
    from ..models import Org
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == g.tenant_id,
        Org.kind.in_([OrgKind.agency.value, OrgKind.self_review_unit.value]))
        .order_by(Org.name)).all()


# -- nominations (AE-EXP-1) ------------------------------------------------------------------

@bp.route("/nominations", methods=["GET", "POST"])
def nominations():
    """A recommending office nominates an expert of a unit in its charge; the city HR bureau
    invites one."""
    _only(Role.department_clerk.value, Role.hr_officer.value)
    form = NominationForm()
    _series_choices(form)
    form.agency_org_id.choices = [(0, "—")] + [(o.id, label(o)) for o in _agencies()]
    if form.validate_on_submit():
        try:
            svc.nominate(g.tenant, current_actor(), form.data, today_local())
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已提交，待评审服务机构审核。"), "ok")
            return redirect(url_for(".nominations"), 303)
    rows = svc.nominations_by(g.tenant_id, current_user.org_id)
    return render_page("pool/nominations.html", form=form, rows=rows, labels=svc.STATUS_LABELS,
                       inviting=svc.may_invite(current_actor()))


# -- the agency vets (AE-EXP-6) --------------------------------------------------------------

@bp.route("/vetting")
def vetting():
    _agency()
    today = today_local()
    rows = svc.to_vet(g.tenant_id, current_user.org_id)
    from ..workflow.experts import conditions
    found = {e.id: conditions(g.tenant, e, "associate_senior", today) for e in rows}
    return render_page("pool/vetting.html", rows=rows, found=found)


@bp.route("/vetting/<int:expert_id>/<action>", methods=["POST"])
def vet(expert_id, action):
    _agency()
    e = _expert(expert_id)
    if e.agency_org_id != current_user.org_id or action not in ("vet_pass", "vet_return"):
        abort(404)
    try:
        transition(g.tenant, e, action, current_actor(),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""), role=request.form.get("role"))
    except TransitionError as err:
        flash_error(err)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(".vetting"), 303)


# -- the city HR bureau approves (AE-EXP-6) --------------------------------------------------

@bp.route("/approvals")
def approvals():
    _city_hr()
    return render_page("pool/approvals.html", rows=svc.to_approve(g.tenant_id))


@bp.route("/approvals/<int:expert_id>/<action>", methods=["POST"])
def approve(expert_id, action):
    _city_hr()
    e = _expert(expert_id)
    if action not in ("approve", "approval_return"):
        abort(404)
    account = {}
    try:
        transition(g.tenant, e, action, current_actor(),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""), account=account)
    except TransitionError as err:
        flash_error(err)
    else:
        flash(_("已办理。"), "ok")
        if account.get("password"):
            flash(_("专家账号已开通，以手机号登录。初始密码（仅显示一次，请转告专家）：%(p)s",
                    p=account["password"]), "ok")
        elif account.get("taken"):
            flash(_("该手机号已用于其他账号，专家账号未开通。"), "error")
    return redirect(url_for(".approvals"), 303)


# -- the expert's own data (AE-EXP-4) --------------------------------------------------------

@bp.route("/me", methods=["GET", "POST"])
def profile():
    _only(Role.expert.value)
    e = db.session.scalar(sa.select(Expert).filter_by(tenant_id=g.tenant_id,
                                                      user_id=current_user.id))
    if e is None:
        abort(403)
    form = ProfileForm(obj=None if request.method == "POST" else e)
    _series_choices(form)
    if request.method == "GET":
        form.employer_org_id.data = e.employer_org_id or 0
        form.specialty.data = e.specialty or ""
    if form.validate_on_submit():
        try:
            svc.propose_change(g.tenant, current_actor(), e, form.data)
        except TransitionError as err:
            flash_error(err)
        else:
            flash(_("已提交，待所在单位和评审服务机构核对后生效。"), "ok")
            return redirect(url_for(".profile"), 303)
    history = db.session.scalars(sa.select(ExpertChange).filter_by(expert_id=e.id)
                                 .order_by(ExpertChange.id.desc()).limit(20)).all()
    return render_page("pool/profile.html", form=form, e=e, history=history,
                       pending=svc.pending_change(e), change_labels=svc.CHANGE_LABELS,
                       term_end=term_end(g.tenant, e), reasons=EXIT_REASONS)


# -- checking the changes ----------------------------------------------------------------------

@bp.route("/changes")
def changes():
    _only(Role.employer_clerk.value, Role.agency_clerk.value)
    rows = svc.changes_for(current_actor())
    return render_page("pool/changes.html", rows=rows, labels=svc.CHANGE_LABELS,
                       employer=current_user.role == Role.employer_clerk.value)


@bp.route("/changes/<int:change_id>/<action>", methods=["POST"])
def check_change(change_id, action):
    _only(Role.employer_clerk.value, Role.agency_clerk.value)
    c = db.session.get(ExpertChange, change_id)
    if c is None or not svc.change_visible(current_actor(), c):
        abort(404)
    if action not in ("pass", "return"):
        abort(404)
    stage = "employer" if current_user.role == Role.employer_clerk.value else "agency"
    try:
        transition(g.tenant, c, f"{stage}_{action}", current_actor(),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""))
    except TransitionError as err:
        flash_error(err)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(".changes"), 303)


# -- pre-review training (AE-DUTY-1) -------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/training", methods=["GET", "POST"])
def training(session_id):
    _agency()
    s = db.session.get(ReviewSession, session_id)
    if s is None or s.tenant_id != g.tenant_id or s.committee.agency_org_id != current_user.org_id:
        abort(404)
    if request.method == "POST":
        try:
            n = svc.record_training(current_actor(), s, request.form.getlist("expert", type=int))
        except TransitionError as err:
            flash_error(err)
        else:
            flash(_("已登记%(n)d名专家参加评前培训。", n=n), "ok")
        return redirect(url_for(".training", session_id=s.id), 303)
    return render_page("pool/training.html", s=s, trained=svc.trained_ids(s))


# -- the yearly assessment (AE-SUPERV-1) -------------------------------------------------------

@bp.route("/assessments")
def assessments():
    _agency()
    year = request.args.get("year", type=int) or today_local().year
    rows = db.session.scalars(sa.select(Expert).where(
        Expert.tenant_id == g.tenant_id, Expert.status == svc.APPROVED,
        sa.or_(Expert.agency_org_id == current_user.org_id, Expert.agency_org_id.is_(None)))
        .order_by(Expert.exited_on.is_not(None), Expert.id)).all()
    done = svc.assessed([e.id for e in rows])
    return render_page("pool/assessments.html", rows=rows, done=done, year=year,
                       reasons=EXIT_REASONS,
                       ends={e.id: term_end(g.tenant, e) for e in rows})


@bp.route("/assessments/<int:expert_id>", methods=["POST"])
def assess(expert_id):
    _agency()
    e = _expert(expert_id)
    if e.agency_org_id not in (None, current_user.org_id):
        abort(404)
    result = request.form.get("result")
    year = request.form.get("year", type=int) or 0
    try:
        svc.record_assessment(g.tenant, current_actor(), e, year,
                              {"pass": True, "fail": False}.get(result),
                              request.form.get("note", ""), today_local())
    except TransitionError as err:
        flash_error(err)
    else:
        flash(_("已登记考核结果。"), "ok")
    return redirect(url_for(".assessments", year=year or None), 303)
