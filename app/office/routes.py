from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .. import inbox_page, uploads
from ..web import (
    RETURN_ROWS, client_ip, correction_form_items, correction_targets, flash_error, render_page,
)
from ..spreadsheets import send_temporary
from ..workflow import abilities, disqualify, exports, history, inbox as inbox_svc
from ..workflow import notice_sheet as notice_svc
from ..workflow import queries
from ..workflow.calendar import today_local
from ..workflow.certificates import REVOKE_LABELS
from ..workflow.integrity import record_years
from ..workflow.actors import Actor
from ..workflow.applications import SECTION_TITLES, section_fields
from ..workflow.errors import TransitionError
from ..workflow.transitions import transition

OFFICE_ROLES = abilities.OFFICE_ROLES
ACTIONS = abilities.OFFICE_ACTIONS


@bp.before_request
@login_required
def _offices_only():
    if current_user.role not in OFFICE_ROLES:
        abort(403)


@bp.route("/")
def inbox():
    """Applications this office holds now, filtered, searched and paged; and those it has
    handled."""
    return inbox_page.show("office.inbox", "office/inbox.html", export_endpoint="office.export",
                           more=lambda: {"handled": queries.handled_by(g.tenant_id,
                                                                       current_user.org_id)})


def _export(stmt, list_name: str, args: dict):
    """Write `stmt` to .xlsx, record who took it, and send it."""
    from ..tenancy import label
    actor, today = Actor.of(current_user, client_ip()), today_local()
    done = exports.write(g.tenant, stmt, list_name, today)
    exports.record(actor, request.endpoint, args, done.rows)
    return send_temporary(done.path, exports.file_name(list_name, label(current_user.org), today))


@bp.route("/export.xlsx")
def export():
    """The files this office holds, as filtered on the list (same arguments), as .xlsx."""
    f, today = inbox_svc.Filters.from_args(request.args), today_local()
    stmt = inbox_svc.ordered(inbox_svc.filtered(g.tenant_id, current_user.org_id, f, today), f)
    return _export(stmt, _("待办申报"), f.args())


@bp.route("/handled.xlsx")
def handled_export():
    """Every file this office has handled and passed on, as .xlsx."""
    return _export(exports.handled(g.tenant_id, current_user.org_id), _("已办理"), {})


@bp.route("/notice-sheet")
def notice_sheet():
    """The unit's internal notice of its files in notice, to print and post (BJ-WIN-2,
    CF-UNIT-1); `?plan=` narrows it to one plan."""
    plan = request.args.get("plan", type=int)
    sheet = notice_svc.sheet(g.tenant, g.tenant_id, current_user.org_id, today_local(), plan)
    return render_page("office/notice_sheet.html", sheet=sheet, plan=plan,
                       contact=notice_svc.contact(request.args), today=today_local())


@bp.route("/applications/<int:app_id>")
def detail(app_id):
    """One application, its sections, scans and history, with the actions open to this office."""
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    if app is None:
        abort(404)
    return render_page("office/detail.html", app=app, fields=section_fields(g.tenant),
                       titles=SECTION_TITLES, targets=correction_targets(), rows=range(RETURN_ROWS),
                       holding=app.holder_org_id == current_user.org_id,
                       history=history.of(app), may_act=abilities.may_act_on(current_user, app),
                       may_disqualify=app.status in disqualify.SOURCES
                       and disqualify.may_disqualify(Actor.of(current_user), app))


@bp.route("/applications/<int:app_id>/attachments/<int:att_id>")
def download(app_id, att_id):
    """A scan of an application on this office's route."""
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    att = next((a for a in app.attachments if a.id == att_id), None) if app else None
    if att is None:
        abort(404)
    return uploads.send_stored(g.tenant.slug, att.stored_name, mimetype=att.mime,
                               download_name=att.filename)


@bp.route("/applications/<int:app_id>/<action>", methods=["POST"])
def act(app_id, action):
    """Start the notice, recommend, return with corrections, or decline to recommend."""
    if action not in ACTIONS:
        abort(404)
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    if app is None:
        abort(404)
    try:
        transition(g.tenant, app, action, Actor.of(current_user, client_ip()),
                   expected_version=request.form.get("version", type=int),
                   opinion=request.form.get("opinion", ""),
                   no_objection=request.form.get("no_objection") == "y",
                   insurance_verified=request.form.get("insurance_verified") == "y",
                   items=correction_form_items(request.form))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已办理。"), "ok")
        if app.holder_org_id != current_user.org_id:
            return redirect(url_for(".inbox"), 303)
    return redirect(url_for(".detail", app_id=app.id), 303)


def _disqualifiable(app_id: int):
    """A file this office may disqualify: on its route, or before its committee's office."""
    from ..extensions import db
    from ..models import Application
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    if app is None:
        app = db.session.get(Application, app_id)
        if app is None or app.tenant_id != g.tenant_id:
            return None
    return app if disqualify.may_disqualify(Actor.of(current_user), app) else None


@bp.route("/applications/<int:app_id>/integrity", methods=["GET", "POST"])
def integrity(app_id):
    """False material found: disqualify the file, with the verified facts, into the integrity
    record (BJ-INTEG-1, CF-INTEG-1)."""
    app = _disqualifiable(app_id)
    if app is None:
        abort(404)
    if request.method == "POST":
        try:
            transition(g.tenant, app, "disqualify", Actor.of(current_user, client_ip()),
                       expected_version=request.form.get("version", type=int),
                       kind=request.form.get("kind", ""), opinion=request.form.get("opinion", ""),
                       serious=request.form.get("serious") == "y")
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已取消该申报的申报资格，申报人已记入职称评审诚信档案。"), "ok")
            return redirect(url_for(".integrity", app_id=app.id), 303)
    return render_page("office/integrity.html", app=app, kinds=REVOKE_LABELS,
                       open=app.status in disqualify.SOURCES, years=record_years(g.tenant),
                       form=request.form if request.method == "POST" else {})


@bp.route("/reports", methods=["GET", "POST"])
def reports():
    """Tier reports (CF-REPORT-1): choose a plan, generate the recommendation report, rosters
    and statistics table of what this office has forwarded, follow the job and download the
    archived files."""
    from ..jobs.reports import enqueue, progress_of
    from ..workflow import reports as tier_reports
    plans = queries.plans(g.tenant_id)
    if request.method == "POST":
        plan = next((p for p in plans if p.id == request.form.get("plan", type=int)), None)
        if plan is None:
            flash(_("请选择评审计划。"), "error")
            return redirect(url_for(".reports"), 303)
        run = tier_reports.start_run(g.tenant_id, current_user.org_id, plan.id)
        if run is None:
            flash(_("该计划的报表正在生成，请稍候。"), "error")
        else:
            enqueue(g.tenant.slug, current_user.org_id, plan.id, run)
            flash(_("已开始生成报表。"), "ok")
        return redirect(url_for(".reports"), 303)
    runs = tier_reports.runs_of(g.tenant_id, current_user.org_id)
    progress = {r.id: progress_of(r) for r in runs if r.status in ("queued", "running")}
    by_plan = {p.id: p for p in plans}
    return render_page("office/reports.html", "office/_reports.html", plans=plans,
                       by_plan=by_plan, runs=runs, progress=progress,
                       busy=bool(progress),
                       archive=tier_reports.archive(g.tenant_id, current_user.org_id))


@bp.route("/reports/<int:report_id>")
def report_download(report_id):
    """One archived report, for the office that generated it only."""
    from ..workflow import reports as tier_reports
    report = tier_reports.report_of(g.tenant_id, current_user.org_id, report_id)
    if report is None:
        abort(404)
    return uploads.send_stored(g.tenant.slug, tier_reports.stored_key(report.stored_name),
                               download_name=report.filename,
                               mimetype=tier_reports.mimetype_of(report))


from .batch import install as _install_batch  # noqa: E402

_install_batch(bp)  # batch actions on a selection of the list
