"""The review service agency: completeness check, committees, expert pool, review sessions."""
import io
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from ..spreadsheets import XLSX_MIME
from .forms import ExpertForm, FilingForm, SessionForm
from .. import inbox_page, uploads
from ..jobs.deadlines import schedule_sweep
from ..extensions import db
from ..models import Committee, Expert, ReviewSession, Role, Status
from ..models.results import Publication
from ..tenancy import label
from ..web import (
    RETURN_ROWS, client_ip, correction_form_items, correction_targets, flash_error, render_page,
)
from ..workflow import agency as agency_svc
from ..workflow import committees, disqualify, experts, fees, groups, queries, records, results, sessions
from ..workflow import exports, history
from ..workflow import inbox as inbox_svc
from ..spreadsheets import send_temporary
from ..workflow.actors import Actor
from ..workflow.applications import SECTION_FIELDS, SECTION_TITLES
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError
from ..workflow.transitions import transition


@bp.before_request
@login_required
def _agency_only():
    if current_user.role != Role.agency_clerk.value:
        abort(403)


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def _mine(model, obj_id):
    """A committee or session of this agency in this tenant, else 404."""
    obj = db.session.get(model, obj_id)
    committee = obj if model is Committee else (obj.committee if obj else None)
    if obj is None or obj.tenant_id != g.tenant_id or committee.agency_org_id != current_user.org_id:
        abort(404)
    return obj


@bp.route("/")
def inbox():
    """Files this agency holds: recommended to it, to check, by default; checked, paid, under
    review."""
    return inbox_page.show("agency.inbox", "agency/inbox.html",
                           default_status=Status.recommended.value,
                           statuses=inbox_page.AGENCY_STATUSES, detail_endpoint="agency.check",
                           export_endpoint="agency.export")


@bp.route("/export.xlsx")
def export():
    """The files to check, as filtered on the list (recommended ones unless asked), as .xlsx."""
    f, today = inbox_svc.Filters.from_args(request.args, Status.recommended.value), today_local()
    stmt = inbox_svc.ordered(inbox_svc.filtered(g.tenant_id, current_user.org_id, f, today), f)
    done = exports.write(g.tenant, stmt, _("材料审核"), today)
    exports.record(_actor(), request.endpoint, f.args(), done.rows)
    return send_temporary(done.path, exports.file_name(_("材料审核"), label(current_user.org),
                                                       today))


@bp.route("/applications/<int:app_id>")
def check(app_id):
    """One file: pass it, or return it with every correction and a deadline."""
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    if app is None:
        abort(404)
    returned = agency_svc.last_return(app)
    diff = agency_svc.changes_since(app, returned.snapshot) if returned else {}
    due = date.fromordinal(today_local().toordinal() + g.tenant.policies.correction_days)
    scope = agency_svc.second_return_scope(app)  # BJ-WIN-3: a further return is limited
    targets = [t for t in correction_targets() if scope is None or t[0] in scope]
    return render_page("agency/check.html", app=app, fields=SECTION_FIELDS, titles=SECTION_TITLES,
                       targets=targets, scope=scope, rows=range(RETURN_ROWS), diff=diff,
                       returned=returned, due=due, fee_window=fees.fee_window(app),
                       disqualify_sources=disqualify.SOURCES, history=history.of(app),
                       holding=app.holder_org_id == current_user.org_id)


@bp.route("/applications/<int:app_id>/<action>", methods=["POST"])
def act(app_id, action):
    """check_pass or agency_return (an offline transfer is confirmed on the payments pages)."""
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    if app is None or action not in ("check_pass", "agency_return"):
        abort(404)
    try:
        due = date.fromisoformat(request.form.get("due", "")) if request.form.get("due") else None
        transition(g.tenant, app, action, _actor(),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""), due=due,
                   items=correction_form_items(request.form))
    except ValueError:
        flash(_("补正期限格式应为年-月-日。"), "error")
    except TransitionError as e:
        flash_error(e)
    else:
        if action == "agency_return":  # committed: the correction deadline gets its close job
            schedule_sweep(g.tenant_id, "corrections", app.correction_due)
        flash(_("已办理。"), "ok")
        return redirect(url_for(".inbox"), 303)
    return redirect(url_for(".check", app_id=app.id), 303)


@bp.route("/committees")
def committee_list():
    """This agency's committees and their filing."""
    rows = db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=g.tenant_id, agency_org_id=current_user.org_id).order_by(Committee.id)).all()
    today = today_local()  # AE-COMM-1: filings running out are flagged ahead
    warn = date.fromordinal(today.toordinal() + g.tenant.policies.agencies.expiry_warning_days)
    return render_page("agency/committees.html", committees=rows, today=today, warn_until=warn)


@bp.route("/committees/<int:committee_id>/file", methods=["GET", "POST"])
def file_committee(committee_id):
    """File or re-file a committee (AE-COMM-1)."""
    c = _mine(Committee, committee_id)
    form = FilingForm(obj=c)
    if not form.standard.raw_data:  # the stored criteria, not their list: one "名称|满分" a line
        form.standard.data = "\n".join(f"{x['name']}|{x['max']}" for x in c.standard)
    pool = [e for e in experts.pool(g.tenant_id)
            if e.series in c.series and not e.exited_on and e.status == "approved"]
    form.roster.choices = [(e.id, e.name) for e in pool]
    if request.method == "GET":
        form.roster.data = c.roster
    if form.validate_on_submit():
        try:
            committees.file_committee(
                _actor(), c, filed_on=form.filed_on.data, valid_until=form.valid_until.data,
                scope=form.scope.data or "", standard_text=form.standard.data or "",
                procedure=form.procedure.data or "", roster=form.roster.data or [])
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已备案。"), "ok")
            return redirect(url_for(".committee_list"), 303)
    return render_page("agency/file_committee.html", form=form, committee=c)


@bp.route("/experts", methods=["GET", "POST"])
def expert_pool():
    """The expert pool: eligibility computed from the data; add and exit experts."""
    form = ExpertForm()
    _expert_choices(form)
    if form.validate_on_submit():
        try:
            password = experts.add_expert_with_account(g.tenant, _actor(), form.data)[1]
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已录入，待市人社局批准后入库。"), "ok")
            if password:
                flash(_("专家账号初始密码（仅显示一次，请转告专家）：%(p)s", p=password), "ok")
            return redirect(url_for(".expert_pool"), 303)
    today = today_local()
    pool = experts.pool(g.tenant_id)
    status = {e.id: {lv: experts.ineligibility(g.tenant, e, lv, today)
                     for lv in ("associate_senior", "senior")} for e in pool}
    from ..workflow.expert_pool import STATUS_LABELS
    return render_page("agency/experts.html", form=form, pool=pool, eligibility=status,
                       reasons=experts.EXIT_REASONS, pool_labels=STATUS_LABELS,
                       must_exit={e.id for e in pool if experts.must_exit(g.tenant, e, today)})


def _expert_choices(form) -> None:
    form.series.choices = [(s.code, label(s)) for s in g.tenant.tenant.series]
    form.specialty.choices = [("", "—")] + [(sp.code, label(sp)) for s in g.tenant.tenant.series
                                            for sp in s.specialties]
    orgs = queries.org_choices(g.tenant_id)
    form.employer_org_id.choices = [(0, "—")] + [(o.id, label(o)) for o in orgs["employers"]]
    form.recommended_by_org_id.choices = [(0, "—")] + [(o.id, label(o)) for o in orgs["offices"]]


@bp.route("/experts/<int:expert_id>/exit", methods=["POST"])
def expert_exit(expert_id):
    """An expert leaves the pool, with the reason (AE-EXP-5)."""
    e = db.session.get(Expert, expert_id)
    if e is None or e.tenant_id != g.tenant_id:
        abort(404)
    try:
        from ..workflow.expert_pool import exit_with_note
        exit_with_note(_actor(), e, request.form.get("reason", ""), request.form.get("note", ""),
                       today_local())
    except TransitionError as err:
        flash_error(err)
    return redirect(url_for(".expert_pool"), 303)


@bp.route("/sessions", methods=["GET", "POST"])
def session_list():
    """Review sessions of this agency's committees; create one."""
    form = SessionForm()
    mine = db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=g.tenant_id, agency_org_id=current_user.org_id).order_by(Committee.id)).all()
    form.committee.choices = [(c.id, label(c)) for c in mine]
    form.plan.choices = [(p.id, label(p)) for p in queries.plans(g.tenant_id)]
    form.series.choices = [(s.code, label(s)) for s in g.tenant.tenant.series]
    form.level.choices = [(lv.code, label(lv)) for lv in g.tenant.tenant.levels]
    if form.validate_on_submit():
        try:
            s = sessions.create_session(
                g.tenant, _actor(), committee_id=form.committee.data, plan_id=form.plan.data,
                series=form.series.data, level=form.level.data, specialties=[],
                panel_size=form.panel_size.data, held_on=form.held_on.data)
        except TransitionError as e:
            flash_error(e)
        else:
            return redirect(url_for(".session_detail", session_id=s.id), 303)
    rows = db.session.scalars(sa.select(ReviewSession).where(
        ReviewSession.tenant_id == g.tenant_id,
        ReviewSession.committee_id.in_([c.id for c in mine] or [0]))
        .order_by(ReviewSession.id.desc())).all()
    return render_page("agency/sessions.html", form=form, sessions=rows)


@bp.route("/sessions/<int:session_id>")
def session_detail(session_id):
    """Files, conflicts, the draw and its replay, the panel, recordings and the tally."""
    s = _mine(ReviewSession, session_id)
    cands, excluded = sessions.candidates(g.tenant, s) if s.status == "draft" else (
        s.draw_candidates, s.draw_excluded)
    names = {e.id: e.name for e in experts.pool(g.tenant_id)}
    replay_ok = s.draw_seed is not None and sessions.replay(s) == sorted(
        m.expert_id for m in s.members if m.replaces_id is None)
    recount = sessions.recount(s) if s.tally else None
    late = sessions.panel_conflicts(s) if s.status == "drawn" else []
    publication = db.session.scalar(sa.select(Publication).filter_by(session_id=s.id))
    return render_page("agency/session.html", s=s, addable=sessions.eligible_files(s), late=late,
                       candidates=cands, excluded=excluded, names=names, replay_ok=replay_ok,
                       recount=recount, kinds=records.KINDS, publication=publication,
                       results_panel=results.panel(g.tenant, s, publication),
                       group_table=groups.table(s),
                       group_choices=[(c, groups.GROUP_LABELS[c]) for c in groups.optional(g.tenant)],
                       plan_due=sessions.plan_filing_due(g.tenant, s))


@bp.route("/sessions/<int:session_id>/<action>", methods=["POST"])
def session_act(session_id, action):
    """add files, choose the review groups, file the implementation plan, draw, replace a member,
    upload a recording or minutes."""
    s = _mine(ReviewSession, session_id)
    try:
        if action == "add":
            sessions.add_files(_actor(), s, request.form.getlist("app", type=int))
        elif action in ("file_plan", "draw"):
            transition(g.tenant, s, action, _actor(),
                       expected_version=request.form.get("version", type=int))
        elif action == "groups":
            groups.choose(g.tenant, _actor(), s, request.form.getlist("group"))
        elif action == "replace":
            member = next((m for m in s.members if m.id == request.form.get("member", type=int)),
                          None) or abort(404)
            sessions.replace_member(g.tenant, _actor(), s, member, request.form.get("reason", ""))
        elif action == "upload":
            f = request.files.get("file")
            records.add_session_file(g.tenant, _actor(), s, request.form.get("kind", ""),
                                     f.filename if f else "", f.stream if f else None)
        else:
            abort(404)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已办理。"), "ok")
    return redirect(url_for(".session_detail", session_id=s.id), 303)


@bp.route("/sessions/<int:session_id>/roster.xlsx")
def session_roster(session_id):
    """The roster of passed applicants, a section per review group (CF-GROUP-1)."""
    s = _mine(ReviewSession, session_id)
    if s.status != "closed":
        abort(404)
    buf = io.BytesIO()
    groups.roster(g.tenant, s).save(buf)
    buf.seek(0)
    return send_file(buf, download_name=f"{_('评审通过人员花名册')}-{s.id}.xlsx",
                     mimetype=XLSX_MIME,
                     as_attachment=True, max_age=0)


@bp.route("/sessions/<int:session_id>/files/<int:file_id>")
def session_file(session_id, file_id):
    """Download a stored recording or minutes."""
    s = _mine(ReviewSession, session_id)
    f = next((x for x in s.files if x.id == file_id), None) or abort(404)
    return uploads.send_stored(g.tenant.slug, f.stored_name, mimetype=f.mime,
                               download_name=f.filename)


from ..office.batch import install as _install_batch  # noqa: E402

_install_batch(bp)  # batch actions on a selection of the list
