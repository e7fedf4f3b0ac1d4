"""How a fee is paid (BJ-FEE-1): a small interface and its two providers.

* OfflineProvider: the applicant transfers the fee to the agency's account as the fee window's
  instructions say; the agency confirms the transfer with the bank serial number.
* GatewayProvider: an order at the payment gateway. The gateway notifies our callback with a JSON
  body {order_no, trade_no, amount, status} signed in the header
  `X-Signature: hex HMAC-SHA256(PAYMENT_GATEWAY_SECRET, raw body)`; the system then confirms.

Both end in the transition "confirm_payment", which records the paid Payment."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l

from ..models import Application
from ..models.fees import Payment, PaymentProvider, PaymentStatus
from ..workflow import fees
from ..workflow.actors import Actor
from ..workflow.calendar import closes_at
from ..workflow.errors import Forbidden, Invalid
from ..workflow.transitions import transition

NOTICE_STATUSES = {"paid": True, "failed": False}


class BadSignature(Forbidden):
    """The notification is not signed with our key: refused, nothing read or changed."""


class UnknownOrder(Invalid):
    """No gateway order of this tenant has this number."""


@dataclass(frozen=True)
class Checkout:
    """What the applicant is sent to (a gateway page) or shown (transfer instructions)."""
    amount: int  # fen
    redirect_url: str | None = None
    instructions: str = ""
    payment: Payment | None = None


class Provider(Protocol):
    name: PaymentProvider

    def checkout(self, cfg, app: Application, actor: Actor, *,
                 now: datetime | None = None) -> Checkout:
        """How the applicant pays for their own checked file now; refused outside the window."""


class OfflineProvider:
    name = PaymentProvider.offline

    def checkout(self, cfg, app: Application, actor: Actor, *,
                 now: datetime | None = None) -> Checkout:
        if actor.user_id != app.applicant_id:
            raise Forbidden(_l("无权进行此操作。"))
        state = fees.payability(cfg, app, now)
        if not state.open:
            raise state.refusal
        return Checkout(state.window.amount, instructions=state.window.instructions)

    def confirm(self, cfg, app: Application, actor: Actor, reference: str, *,
                expected_version: int | None = None, now: datetime | None = None) -> None:
        """The holding agency has seen the transfer on its account: the file is paid."""
        transition(cfg, app, "confirm_payment", actor, expected_version=expected_version,
                   now=now, reference=reference)


@dataclass(frozen=True)
class GatewayProvider:
    secret: str
    url: str = ""          # the gateway's payment page; empty: the local simulator stands in
    notify_url: str = ""   # our callback, sent with each order
    return_url: str = ""   # where the gateway sends the applicant back
    name = PaymentProvider.gateway

    @classmethod
    def from_config(cls, config, **urls) -> "GatewayProvider":
        return cls(secret=config["PAYMENT_GATEWAY_SECRET"],
                   url=config.get("PAYMENT_GATEWAY_URL") or "", **urls)

    @property
    def simulated(self) -> bool:
        return not self.url

    def checkout(self, cfg, app: Application, actor: Actor, *,
                 now: datetime | None = None) -> Checkout:
        """Open (or reuse) the order; `redirect_url` is None when the simulator stands in."""
        payment = fees.open_order(cfg, app, actor, now)
        url = self.redirect_url(payment, fees.fee_window(app))
        return Checkout(payment.amount, redirect_url=url, payment=payment)

    def redirect_url(self, payment: Payment, window=None) -> str | None:
        """The gateway's page for the order, its parameters signed like a notification. The order
        expires when the fee window closes, so the gateway takes no payment after it."""
        if self.simulated:
            return None
        params = {"order_no": payment.order_no, "amount": payment.amount,
                  "notify_url": self.notify_url, "return_url": self.return_url}
        if window is not None:
            params["expires"] = closes_at(window.closes_on).isoformat()
        query = urlencode(sorted(params.items()))
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}{query}&sign={self.sign(query.encode())}"

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def verify(self, body: bytes, signature: str | None) -> bool:
        return hmac.compare_digest(self.sign(body), (signature or "").strip().lower())

    def callback(self, cfg, tenant_id: int, body: bytes, signature: str | None, *,
                 now: datetime | None = None) -> Payment:
        """Verify and apply a notification. A repeated one changes nothing and is answered
        alike; a bad signature, a malformed body or a wrong amount changes nothing."""
        if not self.verify(body, signature):
            raise BadSignature(_l("签名无效。"))
        try:
            data = json.loads(body)
            order_no, trade_no = str(data["order_no"]), str(data.get("trade_no") or "")
            amount, paid = data["amount"], NOTICE_STATUSES[data["status"]]
        except (ValueError, TypeError, KeyError):
            raise Invalid(_l("通知内容不完整。")) from None
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise Invalid(_l("支付金额与订单金额不符。"))
        payment = fees.payment_by_order(tenant_id, order_no)
        if payment is None or payment.provider != PaymentProvider.gateway.value:
            raise UnknownOrder(_l("订单不存在。"))
        return fees.settle(cfg, payment, trade_no=trade_no, amount=amount, paid=paid, now=now)

    def simulate(self, payment: Payment, *, paid: bool) -> tuple[bytes, str]:
        """The notification the gateway would send for `payment`, and its signature."""
        body = json.dumps({"order_no": payment.order_no,
                           "trade_no": f"SIM{secrets.token_hex(6).upper()}",
                           "amount": payment.amount,
                           "status": "paid" if paid else PaymentStatus.failed.value}).encode()
        return body, self.sign(body)
