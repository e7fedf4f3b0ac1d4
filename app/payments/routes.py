"""Fees (BJ-FEE-1): the applicant's pay page, the local gateway simulator, the gateway's callback,
and the agency's fee windows, payments and offline confirmations."""
from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from .forms import FeeWindowForm
from .providers import BadSignature, GatewayProvider, OfflineProvider, UnknownOrder
from ..extensions import csrf
from ..jobs.deadlines import schedule_sweep
from ..models import Role
from ..models.fees import FeeWindow, PaymentStatus
from ..tenancy import label
from ..web import client_ip, flash_error, render_page
from ..workflow import fees, queries
from ..workflow.actors import Actor
from ..workflow.applications import own_application
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError

# Who may open each page; the callback is the gateway's, authenticated by its signature.
VIEW_ROLES = {"pay": Role.applicant, "checkout": Role.applicant, "simulator": Role.applicant,
              "windows": Role.agency_clerk, "ledger": Role.agency_clerk,
              "confirm_offline": Role.agency_clerk}


@bp.before_request
def _by_role():
    view = (request.endpoint or "").rsplit(".", 1)[-1]
    if view == "callback":
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if view not in VIEW_ROLES or current_user.role != VIEW_ROLES[view].value:
        abort(403)
    return None


@bp.app_template_filter("yuan")
def _yuan(fen: int) -> str:
    return fees.yuan(fen)


@bp.app_template_global()
def payment_label(kind: str, value: str) -> str:
    labels = fees.PROVIDER_LABELS if kind == "provider" else fees.PAYMENT_STATUS_LABELS
    return str(labels.get(value, value))


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def _gateway(**urls) -> GatewayProvider:
    return GatewayProvider.from_config(current_app.config, **urls)


def _own(app_id: int):
    app = own_application(g.tenant_id, current_user, app_id)
    if app is None or not g.tenant.policies.fee_required:
        abort(404)
    return app


# -- the applicant -----------------------------------------------------------------------------

@bp.route("/applications/<int:app_id>")
def pay(app_id):
    """The fee of the applicant's own file: amount, window, online payment or bank transfer."""
    app = _own(app_id)
    state = fees.payability(g.tenant, app)
    offline = OfflineProvider().checkout(g.tenant, app, _actor()) if state.open else None
    return render_page("payments/pay.html", app=app, state=state, offline=offline,
                       payments=fees.payments_of(app), simulated=_gateway().simulated)


@bp.route("/applications/<int:app_id>/gateway", methods=["POST"])
def checkout(app_id):
    """Open (or reuse) the order and send the applicant to the gateway, or to the simulator."""
    app = _own(app_id)
    provider = _gateway(notify_url=url_for(".callback", _external=True),
                        return_url=url_for(".pay", app_id=app.id, _external=True))
    try:
        out = provider.checkout(g.tenant, app, _actor())
    except TransitionError as e:
        flash_error(e)
        return redirect(url_for(".pay", app_id=app.id), 303)
    return redirect(out.redirect_url or url_for(".simulator", order_no=out.payment.order_no), 303)


@bp.route("/simulator/<order_no>", methods=["GET", "POST"])
def simulator(order_no):
    """Stands in for the gateway while none is configured: paying or failing the order sends a
    signed notification through the same service as the callback."""
    provider = _gateway()
    payment = fees.payment_by_order(g.tenant_id, order_no)
    if (not provider.simulated or payment is None
            or payment.application.applicant_id != current_user.id):
        abort(404)
    if request.method == "GET":
        return render_page("payments/simulator.html", payment=payment)
    body, signature = provider.simulate(payment, paid=request.form.get("outcome") == "pay")
    try:
        payment = provider.callback(g.tenant, g.tenant_id, body, signature)
    except TransitionError as e:
        flash_error(e)
    else:
        paid = payment.status == PaymentStatus.paid.value
        flash(_("缴费成功。") if paid else _("支付未成功，可在缴费期内重新缴费。"),
              "ok" if paid else "error")
    return redirect(url_for(".pay", app_id=payment.application_id), 303)


# -- the gateway -------------------------------------------------------------------------------

@bp.route("/callback", methods=["POST"])
@csrf.exempt
def callback():
    """The gateway's signed notification of an order's outcome; a repeated one is answered alike
    and changes nothing."""
    try:
        payment = _gateway().callback(g.tenant, g.tenant_id, request.get_data(),
                                      request.headers.get("X-Signature"))
    except TransitionError as e:
        code = 403 if isinstance(e, BadSignature) else 404 if isinstance(e, UnknownOrder) else 400
        return jsonify(ok=False, error=str(e.message)), code
    return jsonify(ok=True, order_no=payment.order_no, status=payment.status)


# -- the agency --------------------------------------------------------------------------------

@bp.route("/agency", methods=["GET", "POST"])
def windows():
    """Fee windows of this agency's committees: set the period and amount for a plan."""
    rows = fees.agency_windows(g.tenant_id, current_user.org_id)
    editing = next((w for w in rows if w.id == request.args.get("edit", type=int)), None)
    form = FeeWindowForm(data=_form_data(editing))
    form.committee.choices = [(c.id, label(c)) for c in
                              fees.agency_committees(g.tenant_id, current_user.org_id)]
    form.plan.choices = [(p.id, label(p)) for p in queries.plans(g.tenant_id)]
    if form.validate_on_submit():
        try:
            fees.set_fee_window(g.tenant, _actor(), committee_id=form.committee.data,
                                plan_id=form.plan.data, opens_on=form.opens_on.data,
                                closes_on=form.closes_on.data, amount=fees.to_fen(form.amount.data),
                                instructions=form.instructions.data or "")
        except TransitionError as e:
            flash_error(e)
        else:  # committed: the window's close gets its job
            schedule_sweep(g.tenant_id, "fees", form.closes_on.data)
            flash(_("已保存。"), "ok")
            return redirect(url_for(".windows"), 303)
    return render_page("payments/windows.html", form=form, windows=rows, today=today_local(),
                       counts=fees.window_counts(g.tenant_id, rows))


def _form_data(window: FeeWindow | None) -> dict:
    """A window's values for the form, the amount back in yuan."""
    if window is None:
        return {}
    return {"committee": window.committee_id, "plan": window.plan_id,
            "opens_on": window.opens_on, "closes_on": window.closes_on,
            "amount": f"{window.amount / 100:.2f}", "instructions": window.instructions}


@bp.route("/agency/payments")
def ledger():
    """Payments for files of this agency's committees, newest first, by status."""
    status = request.args.get("status") or None
    if status not in (None, *fees.PAYMENT_STATUS_LABELS):
        abort(404)
    return render_page("payments/ledger.html", status=status,
                       rows=fees.agency_payments(g.tenant_id, current_user.org_id, status))


@bp.route("/agency/applications/<int:app_id>/offline", methods=["POST"])
def confirm_offline(app_id):
    """The agency has received the applicant's bank transfer: confirm it with the serial number."""
    app = queries.office_application(g.tenant_id, current_user.org_id, app_id)
    if app is None:
        abort(404)
    try:
        OfflineProvider().confirm(g.tenant, app, _actor(), request.form.get("reference", ""),
                                  expected_version=request.form.get("version", type=int))
    except TransitionError as e:
        flash_error(e)
        return redirect(url_for("agency.check", app_id=app.id), 303)
    flash(_("已办理。"), "ok")
    return redirect(url_for("agency.inbox"), 303)
