import sqlalchemy as sa
from flask import flash, g, redirect, url_for
from flask_babel import gettext as _

from . import bp
from ..auth.forms import EmployerRegisterForm
from ..auth.routes import registration_limited
from ..extensions import db
from ..jobs.notify import dispatch
from ..models import Committee
from ..tenancy import label, tenants
from ..web import client_ip, flash_error, render_page
from ..workflow import orgtree, people, registrations
from ..workflow.applications import open_plans
from ..workflow.errors import TransitionError


@bp.route("/")
def index():
    """The tenants served by this deployment."""
    return render_page("public/index.html", tenants=list(tenants().values()))


@bp.route("/<tenant>/")
def home():
    """A tenant's start page: open plans and where to begin."""
    return render_page("public/home.html", plans=open_plans(g.tenant_id))


@bp.route("/<tenant>/directory")
def directory():
    """The year's committee directory (名录)."""
    committees = db.session.scalars(sa.select(Committee).filter_by(tenant_id=g.tenant_id)
                                     .order_by(Committee.id)).all()
    return render_page("public/directory.html", committees=committees)


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
