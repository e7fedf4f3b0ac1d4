"""The city HR bureau's oversight tables, complaint list and audit trails; supervisory members
of review sessions (AE-SUPERV-1)."""
import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .. import uploads
from ..extensions import db
from ..models import Application, ReviewSession
from ..models.oversight import SessionSupervisor
from ..web import current_actor, flash_error, render_page
from ..workflow import complaints, oversight, records, supervision
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError

from ..spreadsheets import XLSX_MIME as XLSX


@bp.before_request
@login_required
def _signed_in():
    pass


def _city_hr() -> None:
    if not complaints.is_city_hr(current_actor()):
        abort(403)


def _by() -> str:
    by = request.args.get("by", "agency")
    return by if by in oversight.BY else "agency"


def _xlsx(table, name: str):
    buf = io.BytesIO()
    oversight.workbook(table, name).save(buf)
    buf.seek(0)
    return send_file(buf, download_name=f"{name}.xlsx", mimetype=XLSX, as_attachment=True,
                     max_age=0)


@bp.route("/")
def index():
    """Per agency, committee or county: stages, overdue items, returns, objections, complaints
    and re-checks."""
    _city_hr()
    by, today = _by(), today_local()
    page = max(request.args.get("page", 1, type=int), 1)
    tables = [oversight.table(g.tenant, g.tenant_id, code, by, today, page)
              for code in oversight.TABLES]
    return render_page("oversight/index.html", tables=tables, by=by, by_labels=oversight.BY,
                       page=page, page_size=oversight.PAGE_SIZE)


@bp.route("/export/<code>.xlsx")
def export(code):
    """One oversight table as .xlsx (the returns: every row)."""
    _city_hr()
    if code not in oversight.TABLES:
        abort(404)
    by = _by()
    table = oversight.table(g.tenant, g.tenant_id, code, by, today_local(), page=None)
    return _xlsx(table, f"{oversight.TABLES[code]}-{oversight.BY[by]}")


@bp.route("/complaints")
def complaints_list():
    """Every complaint of the tenant, filtered by how it stands."""
    _city_hr()
    status, today = request.args.get("status") or "", today_local()
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = complaints.tenant_list(g.tenant_id, status, today, page)
    return render_page("oversight/complaints.html", table=oversight.complaints_table(rows, today),
                       rows=rows, total=total, status=status, page=page,
                       page_size=complaints.PAGE_SIZE, states=complaints.STATUS_LABELS)


@bp.route("/complaints.xlsx")
def complaints_export():
    """The complaint list (as filtered) as .xlsx."""
    _city_hr()
    today = today_local()
    rows, _total = complaints.tenant_list(g.tenant_id, request.args.get("status") or "", today,
                                          page=1, size=None)
    return _xlsx(oversight.complaints_table(rows, today), _("投诉举报"))


def _file(app_id: int) -> Application:
    app = db.session.get(Application, app_id)
    if app is None or app.tenant_id != g.tenant_id:
        abort(404)
    return app


@bp.route("/files")
def find_file():
    """Go to a file's audit trail by its number."""
    _city_hr()
    app_id = request.args.get("app", type=int)
    if not app_id:
        return redirect(url_for(".index"), 303)
    return redirect(url_for(".trail", app_id=app_id), 303)


@bp.route("/files/<int:app_id>")
def trail(app_id):
    """The audit trail of one file and of what was lodged about it."""
    _city_hr()
    app = _file(app_id)
    return render_page("oversight/trail.html", app=app, table=oversight.trail_table(app))


@bp.route("/files/<int:app_id>/trail.xlsx")
def trail_export(app_id):
    """A file's audit trail as .xlsx."""
    _city_hr()
    app = _file(app_id)
    return _xlsx(oversight.trail_table(app), f"{_('审计记录')}-{app.id}")


# -- supervisory members ---------------------------------------------------------------------------

def _session(session_id: int) -> ReviewSession:
    s = db.session.get(ReviewSession, session_id)
    if s is None or s.tenant_id != g.tenant_id:
        abort(404)
    return s


@bp.route("/sessions")
def sessions():
    """Review sessions and their supervisory members; appoint one."""
    _city_hr()
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = supervision.all_sessions(g.tenant_id, page)
    return render_page("oversight/sessions.html", rows=rows, total=total, page=page,
                       page_size=50, candidates=supervision.candidates(g.tenant_id),
                       appointed=supervision.supervisors_by_session(g.tenant_id,
                                                                    [s.id for s in rows]))


@bp.route("/sessions/<int:session_id>/supervisors", methods=["POST"])
def appoint(session_id):
    """Appoint a supervisory member to a session."""
    _city_hr()
    s = _session(session_id)
    try:
        supervision.appoint(current_actor(), s, request.form.get("user", type=int) or 0)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已委派。"), "ok")
    return redirect(url_for(".sessions"), 303)


@bp.route("/supervisors/<int:supervisor_id>/withdraw", methods=["POST"])
def withdraw(supervisor_id):
    """Withdraw an appointment the member has not attended."""
    _city_hr()
    row = db.session.get(SessionSupervisor, supervisor_id)
    if row is None or row.tenant_id != g.tenant_id:
        abort(404)
    try:
        supervision.withdraw(current_actor(), row)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已撤回。"), "ok")
    return redirect(url_for(".sessions"), 303)


def _watched(session_id: int) -> ReviewSession:
    if current_user.role not in (*supervision.SUPERVISOR_ROLES, "tenant_admin"):
        abort(403)
    s = _session(session_id)
    if not supervision.may_watch(current_actor(), s):
        abort(404)
    return s


@bp.route("/supervision")
def supervision_list():
    """The sessions I am appointed to supervise."""
    if current_user.role not in supervision.SUPERVISOR_ROLES:
        abort(403)
    return render_page("oversight/supervision.html", rows=supervision.sessions_of(current_actor()))


@bp.route("/supervision/<int:session_id>")
def watch(session_id):
    """A session read-only: files, panel and attendance, recordings, the sealed tally."""
    s = supervision.for_watching(_watched(session_id).id)
    return render_page("oversight/watch.html", s=s, kinds=records.KINDS,
                       mine=supervision.appointment(current_actor(), s.id),
                       supervisors=supervision.supervisors_by_session(g.tenant_id, [s.id])
                       .get(s.id, []))


@bp.route("/supervision/<int:session_id>/present", methods=["POST"])
def present(session_id):
    """Record my presence at the session."""
    s = _watched(session_id)
    try:
        supervision.record_presence(current_actor(), s)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已记录到场。"), "ok")
    return redirect(url_for(".watch", session_id=s.id), 303)


@bp.route("/supervision/<int:session_id>/files/<int:file_id>")
def watch_file(session_id, file_id):
    """Download a session's recording or minutes."""
    s = _watched(session_id)
    f = next((x for x in s.files if x.id == file_id), None) or abort(404)
    return uploads.send_stored(g.tenant.slug, f.stored_name, mimetype=f.mime,
                               download_name=f.filename)
