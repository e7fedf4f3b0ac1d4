import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from . import bp
from ..auth.forms import EmployerRegisterForm
from ..auth.routes import registration_limited
from ..extensions import db
from ..jobs.notify import dispatch
from .. import uploads
from ..models import Committee
from ..models.agencies import NoticeStatus, YearlyNotice
from ..tenancy import label, tenants
from ..web import (
    DISPLAY_COOKIE, DISPLAY_COOKIE_AGE, DISPLAY_MODES, client_ip, display_modes, flash_error,
    render_page,
)
from ..workflow import directory as directory_svc
from ..workflow import notices as notices_svc
from ..workflow import orgtree, people, registrations
from ..workflow.applications import open_plans
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError


@bp.route("/")
def index():
    """The tenants served by this deployment."""
    return render_page("public/index.html", tenants=list(tenants().values()))


@bp.route("/display", methods=["POST"])
def display():
    """Turn the large-text or the high-contrast mode on or off for this browser, then back to
    the page it was chosen on. A cookie of its own keeps the choice across pages, sign-in and
    sign-out."""
    modes = set(display_modes())
    toggle = request.form.get("toggle")
    if toggle in DISPLAY_MODES:
        modes ^= {toggle}
    nxt = request.form.get("next", "")
    safe = nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt
    resp = redirect(nxt if safe else url_for("public.index"), 303)
    value = ".".join(m for m in DISPLAY_MODES if m in modes)
    if value:
        resp.set_cookie(DISPLAY_COOKIE, value, max_age=DISPLAY_COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    else:
        resp.delete_cookie(DISPLAY_COOKIE)
    return resp


@bp.route("/<tenant>/")
def home():
    """A tenant's start page: open plans and where to begin."""
    return render_page("public/home.html", plans=open_plans(g.tenant_id),
                       contacts=directory_svc.contacts(g.tenant_id, today_local()))


@bp.route("/<tenant>/directory")
def directory():
    """The year's committee directory (名录) as the city HR bureau published it (BJ-DIR-1,
    AE-DUTY-1), with the helpline, each agency's phone and the training warning (BJ-HELP-1).
    Before any publication, the directory of the tenant's files."""
    years = directory_svc.published_years(g.tenant_id)
    year = request.args.get("year", type=int)
    year = year if year in years else (years[0] if years else None)
    d = directory_svc.published(g.tenant_id, year) if year else None
    rows = [directory_svc.cells(g.tenant, r) for r in d.rows] if d else []
    committees = [] if d else db.session.scalars(
        sa.select(Committee).filter_by(tenant_id=g.tenant_id)
        .options(selectinload(Committee.agency)).order_by(Committee.id)).all()
    return render_page("public/directory.html", d=d, rows=rows, years=years, year=year,
                       columns=directory_svc.columns(), committees=committees,
                       contacts=directory_svc.contacts(g.tenant_id, today_local()))


@bp.route("/<tenant>/directory/<int:year>.xlsx")
def directory_xlsx(year):
    """The published directory of a year as a spreadsheet."""
    d = directory_svc.published(g.tenant_id, year)
    if d is None:
        abort(404)
    from ..agencies.routes import xlsx_response
    return xlsx_response(d)


@bp.route("/<tenant>/notices")
def notices():
    """The yearly review notices the city HR bureau acknowledged (CF-NOTICE-1)."""
    return render_page("public/notices.html", rows=notices_svc.listed(g.tenant_id, public=True),
                       contacts=directory_svc.contacts(g.tenant_id, today_local()))


@bp.route("/<tenant>/notices/<int:notice_id>")
def notice(notice_id):
    """One acknowledged notice: its text, and its PDF when one was filed."""
    n = db.session.get(YearlyNotice, notice_id)
    if n is None or n.tenant_id != g.tenant_id or n.status != NoticeStatus.acknowledged.value:
        abort(404)
    if request.args.get("pdf") and n.stored_name:
        return uploads.send_stored(g.tenant.slug, n.stored_name, mimetype=n.mime,
                                   download_name=n.filename or "notice.pdf")
    return render_page("public/notice.html", n=n)


@bp.route("/<tenant>/employers/register", methods=["GET", "POST"])
@registration_limited
def register_employer():
    """An employer registers; the territorial HR bureau approves it."""
    form = EmployerRegisterForm()
    form.district.choices = [(d.code, label(d)) for d in g.tenant.tenant.districts]
    form.employer_kind.choices = [(k.value, people.EMPLOYER_KIND_LABELS[k.value])
                                  for k in g.tenant.tenant.employer_kinds]
    orgtree.fill_place_choices(form, g.tenant, g.tenant_id, registrations.REGISTRATION_TIERS)
    if "enterprise" in {x.value for x in g.tenant.policies.review_groups}:  # CF-GROUP-1
        form.enterprise_flags.choices = list(people.ENTERPRISE_FLAG_LABELS.items())
    if form.validate_on_submit():
        try:
            notices = people.register_employer(g.tenant, g.tenant_id, form.data, client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            dispatch(notices)
            flash(_("单位注册已提交，待所在区（旗县）人社部门审核通过后即可登录。"), "ok")
            return redirect(url_for("public.home"), 303)
    return render_page("public/register_employer.html", form=form)
