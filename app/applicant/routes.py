import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from . import bp
from .forms import CONFLICT_KINDS, BasicForm, ConflictForm, NewApplicationForm, UploadForm
from .. import unsaved, uploads
from ..extensions import db, htmx
from ..models import Conflict, Role
from ..tenancy import label
from ..unsaved import keeps_unsaved
from ..web import client_ip, flash_error, render_page
from ..workflow import applications as svc
from ..workflow import eligibility, policies, profiles, queries
from ..workflow.actors import Actor
from ..uploads import resumable
from ..workflow.calendar import now_local
from ..workflow.errors import Forbidden, TransitionError
from ..workflow.sessions import declare_conflict
from ..workflow.transitions import transition


@bp.before_request
@login_required
def _applicants_only():
    if current_user.role != Role.applicant.value:
        abort(403)


# The views whose form, posted after the session ran out, the application page gives back.
KEPT = {"applicant.save_basic", "applicant.add_entry"}


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def _mine(app_id: int):
    app = svc.own_application(g.tenant_id, current_user, app_id)
    if app is None:
        abort(404)
    return app


@bp.route("/")
def dashboard():
    """The applicant's applications."""
    return render_page("applicant/dashboard.html", apps=queries.applications_of(current_user),
                       plans=svc.open_plans(g.tenant_id, current_user))


@bp.route("/applications/new", methods=["GET", "POST"])
def new():
    """Choose plan, committee from the directory, series, specialty and level."""
    form = NewApplicationForm()
    queries.fill_new_choices(form, g.tenant, g.tenant_id, current_user)
    if form.validate_on_submit():
        try:
            app = svc.create_application(
                g.tenant, _actor(), current_user, plan_id=form.plan.data,
                committee_id=form.committee.data, series=form.series.data,
                level=form.level.data, specialty=form.specialty.data)
        except TransitionError as e:
            flash_error(e)
        else:
            return redirect(url_for(".detail", app_id=app.id), 303)
    return render_page("applicant/new.html", form=form, exam_only=queries.exam_only(g.tenant),
                       unverified=profiles.needs_verification(g.tenant, current_user))


def _page(app, fragment=None, *, formdata=None, http_status: int = 200, **extra):
    """The application page (or an htmx fragment of it). The basic section shows `formdata`
    (what was typed and not saved) where given, else what is saved."""
    basic = BasicForm(formdata=formdata, data={
        **(app.basic or {}), "poge": app.poge, "exam_passed": app.exam_passed,
        "exam_year": (app.basic or {}).get("exam_year"),
        "intl_qualification": app.intl_qualification or "",
        "birth_date": queries.parse_date(app.basic.get("birth_date")),
        "title_on": queries.parse_date(app.basic.get("title_on")),
        "freelance_since": queries.parse_date(app.basic.get("freelance_since")),
        "policy": app.policy or ""})
    pol = g.tenant.policies
    basic.intl_qualification.choices = [("", "—")] + [
        (q.code, f"{label(q)}（{label(g.tenant.level(q.counts_as))}）")
        for q in (*pol.professional_qualification, *pol.international_qualification)]
    basic.policy.choices = policies.choices(g.tenant, app.plan.code)
    basic.current_level.choices = [("", "—")] + [(lv.code, label(lv))
                                                 for lv in g.tenant.tenant.levels]
    if g.tenant.policies.freelancer is not None:
        basic.freelance_field.choices = [("", "—")] + [
            (f.code, label(f)) for f in g.tenant.policies.freelancer.fields]
    upload = UploadForm()
    upload.material.choices = [(m.code, label(m)) for m in g.tenant.checklist.material]
    room = svc.upload_room(g.tenant, app, current_user.id)
    ctx = dict(app=app, basic_form=basic, upload_form=upload, fields=svc.section_fields(g.tenant),
               room=room, max_upload=current_app.config["MAX_UPLOAD_BYTES"],
               asked=svc.form_fields(g.tenant),
               titles=svc.SECTION_TITLES, problems=eligibility.problems(g.tenant, app),
               required=eligibility.required_materials(g.tenant, app),
               verdict=policies.assess(g.tenant, app), **extra)
    return render_page("applicant/detail.html", fragment, http_status=http_status, **ctx)


def _back(app_id: int, section: str = "basic") -> str:
    """The page of a section, at the section: where a signed-out save returns after sign-in."""
    return url_for("applicant.detail", app_id=app_id, _anchor=section)


@bp.route("/applications/<int:app_id>")
def detail(app_id):
    """Fill the sections, upload scans and submit; a section's text typed before the session
    ran out comes back, not yet saved, once its owner has signed in again."""
    app = _mine(app_id)
    kept = unsaved.take(lambda k: k.args.get("app_id") == app_id and k.endpoint in KEPT)
    if kept is None:
        return _page(app)
    section = kept.args.get("section", "basic")
    return _page(app, formdata=MultiDict(kept.fields) if section == "basic" else None,
                 typed={section: kept.fields}, section=section, restored=True)


def _after(app, fragment: str, anchor: str, error: TransitionError | None = None, *,
           formdata=None, typed: dict | None = None):
    """htmx: re-render the changed section (with any error, and what was typed when it was not
    saved) and, out of band, the submit box whose list of what is missing depends on it.
    Otherwise 303 back to the page; a refused form with typed text comes back as the page
    holding that text (422), so nothing typed is lost."""
    errors = [str(error.message), *map(str, error.problems)] if error else []
    kept = dict(formdata=formdata, typed=typed) if error else {}
    if htmx:
        return _page(app, "applicant/_changed.html", changed=fragment, errors=errors,
                     section=anchor, saved_at=None if error else now_local().strftime("%H:%M"),
                     http_status=422 if error else 200, **kept)
    if error is None:
        return redirect(_back(app.id, anchor), 303)
    if formdata is None and typed is None:
        flash_error(error)
        return redirect(_back(app.id, anchor), 303)
    return _page(app, errors=errors, section=anchor, http_status=422, **kept)


@bp.route("/applications/<int:app_id>/basic", methods=["POST"])
@keeps_unsaved(_back)
def save_basic(app_id):
    """Save the basic-information section (with htmx, as each field is left)."""
    app = _mine(app_id)
    form = BasicForm()
    try:
        if not form.validate():
            raise TransitionError(_basic_error(form))
        svc.save_basic(g.tenant, app, _actor(), form.data)
    except TransitionError as e:
        return _after(app, "applicant/_basic_saved.html", "basic", e, formdata=request.form)
    return _after(app, "applicant/_basic_saved.html", "basic")


def _basic_error(form: BasicForm) -> str:
    if form.exam_year.errors:
        return _("考试合格年份应为四位年份。")
    if form.township_months.errors or form.township_years.errors:
        return _("服务苏木乡镇、嘎查村的月数和年限应填写整数。")
    return _("日期格式应为年-月-日。") if form.title_on.errors or form.freelance_since.errors else _("出生日期格式应为年-月-日。")


@bp.route("/applications/<int:app_id>/entries/<section>", methods=["POST"])
@keeps_unsaved(_back)
def add_entry(app_id, section):
    """Add one row to a list section."""
    app = _mine(app_id)
    try:
        svc.add_entry(g.tenant, app, _actor(), section, request.form)
    except TransitionError as e:
        return _after(app, "applicant/_section_swap.html", section, e,
                      typed={section: request.form})
    return _after(app, "applicant/_section_swap.html", section)


@bp.route("/applications/<int:app_id>/entries/<section>/<int:entry_id>/delete", methods=["POST"])
def delete_entry(app_id, section, entry_id):
    """Remove one row of a list section."""
    app = _mine(app_id)
    try:
        svc.delete_entry(g.tenant, app, _actor(), entry_id)
    except TransitionError as e:
        return _after(app, "applicant/_section_swap.html", section, e)
    return _after(app, "applicant/_section_swap.html", section)


@bp.route("/applications/<int:app_id>/attachments", methods=["POST"])
def upload(app_id):
    """Upload one scan, typed by the material checklist."""
    app = _mine(app_id)
    f = request.files.get("scan")
    try:
        svc.add_attachment(g.tenant, app, _actor(), request.form.get("material", ""),
                           f.filename if f else "", f.read() if f else b"")
    except TransitionError as e:
        return _after(app, "applicant/_attachments.html", "attachments", e)
    return _after(app, "applicant/_attachments.html", "attachments")


# -- resumable uploads (the tus core protocol: app/uploads/resumable.py) -------------------------

def _tus(body="", status=204, **headers):
    """A protocol answer: plain text (a message the page shows), never cached."""
    resp = current_app.make_response((body, status))
    resp.headers["Content-Type"] = "text/plain; charset=utf-8"
    resp.headers["Tus-Resumable"] = resumable.VERSION
    resp.headers["Cache-Control"] = "no-store"
    for name, value in headers.items():
        resp.headers[name.replace("_", "-")] = str(value)
    return resp


def _refused(e: TransitionError):
    text = "\n".join([str(e.message), *map(str, e.problems)])
    return _tus(text, 403 if isinstance(e, Forbidden) else 422)


def _protocol_error():
    """Requests that do not speak tus 1.0.0 are answered 412, as the protocol asks."""
    if request.headers.get("Tus-Resumable") != resumable.VERSION:
        return _tus("Tus-Resumable: 1.0.0 required", 412, Tus_Version=resumable.VERSION)
    return None


@bp.route("/applications/<int:app_id>/uploads", methods=["POST", "OPTIONS"],
          provide_automatic_options=False)
def upload_create(app_id):
    """Begin a resumable upload of one scan (the size, count and quota limits are checked
    here, before any byte is sent); OPTIONS tells what the server supports."""
    app = _mine(app_id)
    if request.method == "OPTIONS":
        return _tus(Tus_Version=resumable.VERSION, Tus_Extension=resumable.EXTENSIONS,
                    Tus_Max_Size=current_app.config["MAX_UPLOAD_BYTES"])
    if (refused := _protocol_error()) is not None:
        return refused
    try:
        length = resumable.parse_length(request.headers.get("Upload-Length"), "Upload-Length")
        meta = resumable.parse_metadata(request.headers.get("Upload-Metadata", ""))
        upload = resumable.create(g.tenant, app, _actor(), length, meta)
    except resumable.BadRequest as e:
        return _tus(str(e), 400)
    except TransitionError as e:
        return _refused(e)
    return _tus("", 201, Location=url_for(".upload_resource", app_id=app.id, upload_id=upload.id),
                Upload_Offset=upload.offset)


@bp.route("/applications/<int:app_id>/uploads/<int:upload_id>",
          methods=["HEAD", "PATCH", "DELETE"])
def upload_resource(app_id, upload_id):
    """HEAD: how far the upload got; PATCH: the next bytes from that offset (the scan is
    checked and attached after the last); DELETE: abandon it."""
    app = _mine(app_id)
    upload = resumable.find(app, current_user.id, upload_id)
    if upload is None:
        abort(404)
    if (refused := _protocol_error()) is not None:
        return refused
    if request.method == "HEAD":
        return _tus("", 200, Upload_Offset=upload.offset, Upload_Length=upload.length)
    if request.method == "DELETE":
        resumable.discard(upload)
        return _tus()
    if request.mimetype != "application/offset+octet-stream":
        return _tus("Content-Type: application/offset+octet-stream required", 415)
    try:
        offset = resumable.parse_length(request.headers.get("Upload-Offset"), "Upload-Offset")
        resumable.append(g.tenant, app, _actor(), upload, offset, request.stream,
                         request.content_length)
    except resumable.BadRequest as e:
        return _tus(str(e), 400)
    except resumable.Conflict as e:
        return _tus("", e.status, Upload_Offset=e.offset)
    except TransitionError as e:
        return _refused(e)
    return _tus(Upload_Offset=upload.offset)


@bp.route("/applications/<int:app_id>/attachments/<int:att_id>/delete", methods=["POST"])
def delete_attachment(app_id, att_id):
    """Remove one scan."""
    app = _mine(app_id)
    try:
        svc.delete_attachment(g.tenant, app, _actor(), att_id)
    except TransitionError as e:
        return _after(app, "applicant/_attachments.html", "attachments", e)
    return _after(app, "applicant/_attachments.html", "attachments")


@bp.route("/applications/<int:app_id>/attachments/<int:att_id>")
def download(app_id, att_id):
    """Download one of my scans."""
    att = next((a for a in _mine(app_id).attachments if a.id == att_id), None)
    if att is None:
        abort(404)
    return uploads.send_stored(g.tenant.slug, att.stored_name, mimetype=att.mime,
                               download_name=att.filename)


@bp.route("/applications/<int:app_id>/submit", methods=["POST"])
def submit(app_id):
    """Submit (or resubmit after a return) within the window; every problem listed at once."""
    app = _mine(app_id)
    action = "resubmit" if app.status == "returned" else "submit"
    try:
        # The transition checks the personal pledge ticked on the page (BJ-PLEDGE-1, CF-PLEDGE-1).
        transition(g.tenant, app, action, _actor(),
                   expected_version=request.form.get("version", type=int),
                   pledge=request.form.get("pledge"))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已提交。"), "ok")
    return redirect(url_for(".detail", app_id=app.id), 303)


@bp.route("/conflicts", methods=["GET", "POST"])
def conflicts():
    """Name an expert who should not review my file, and why (AE-RECUSE-1): the draw leaves
    out any pool expert of that name."""
    form = ConflictForm()
    if form.validate_on_submit():
        try:
            declare_conflict(_actor(), form.expert_name.data, form.kind.data, form.note.data or "")
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已登记。抽取评审专家时，该专家将回避您的申报。"), "ok")
            return redirect(url_for(".conflicts"), 303)
    rows = db.session.scalars(sa.select(Conflict).filter_by(
        tenant_id=g.tenant_id, applicant_id=current_user.id).order_by(Conflict.id)).all()
    return render_page("applicant/conflicts.html", form=form, rows=rows,
                       kinds=dict(CONFLICT_KINDS))
