"""The 评审表 and 送审表 an applicant downloads after submitting (CF-FORMS-1), and the receipt of
the paper file by the office holding it (CF-PAPER-1, CF-PAPER-2).

Each form carries a short file code, "<tenant letters>-<application id>-<check>", printed and
encoded in a QR code; the check is derived from SECRET_KEY so a typed or scanned code is verified
before use."""
from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, ReviewMode, Status
from ..models.paper import PaperReceipt
from ..tenancy import label
from .actors import Actor
from .calendar import now_local
from .errors import Forbidden, Invalid
from .transitions import (
    _is_holder, _record, _refuse_closed, audit, office_stage_for, transition,
)

PAPER_MODES = (ReviewMode.online_blind_paper.value, ReviewMode.offline_paper.value)
MODE_LABELS = {
    ReviewMode.named.value: _l("线上评审"),
    ReviewMode.online_blind.value: _l("线上盲审盲评"),
    ReviewMode.online_blind_paper.value: _l("线上盲审盲评，另交完整纸质材料"),
    ReviewMode.offline_paper.value: _l("线下纸质材料评审"),
}


CLASSIFIED_LABEL = _l("线下纸质材料评审（涉密人员线下申报、线下评审）")


def mode_label(app: Application) -> str:
    """The review mode of this file, in words (CF-MODE-1…4)."""
    if app.classified and app.review_mode == ReviewMode.offline_paper.value:
        return CLASSIFIED_LABEL
    return MODE_LABELS.get(app.review_mode, app.review_mode)


FORM_MODES = (ReviewMode.online_blind.value, *PAPER_MODES)
# 评审表 for every mode that has forms; 送审表 for the paper modes only.
FORMS = {"review": _l("评审表"), "send": _l("送审表")}
_HELD = (Status.submitted.value, Status.in_notice.value)
RECORD_LOCALE = "zh_Hans_CN"  # forms and reports are records: always in the default language
_CODE = re.compile(r"^([A-Z]{2,4})-(\d{1,10})-([0-9A-F]{6})$")


def forms_for(app: Application) -> list[str]:
    """The forms this applicant may download: none before submitting or while returned."""
    if app.submitted_at is None or app.status in (Status.draft.value, Status.returned.value):
        return []
    mode = app.review_mode
    if mode in PAPER_MODES:
        return ["review", "send"]
    return ["review"] if mode in FORM_MODES else []


def needs_paper(app: Application) -> bool:
    """Whether the plan's mode asks for the full paper file (offices record its receipt)."""
    return app.review_mode in PAPER_MODES


def _check(tenant_id: int, app_id: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    msg = f"paper:{tenant_id}:{app_id}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:6].upper()


def _prefix(tenant_id: int) -> str:
    """The tenant's own letters (those of its certificate numbers), so a code names its region."""
    from ..tenancy import config_for
    certificates = config_for(tenant_id).policies.certificates
    return certificates.number_prefix if certificates is not None else "ZC"


def file_code(app: Application) -> str:
    return f"{_prefix(app.tenant_id)}-{app.id}-{_check(app.tenant_id, app.id)}"


def parse_code(tenant_id: int, text: str) -> int | None:
    """The application id a typed or scanned code names, or None if the code is not genuine."""
    m = _CODE.match(re.sub(r"\s+", "", text or "").upper())
    if not m or m.group(1) != _prefix(tenant_id):
        return None
    app_id = int(m.group(2))
    return app_id if hmac.compare_digest(m.group(3), _check(tenant_id, app_id)) else None


def checklist(cfg, app: Application) -> list[dict]:
    """The 材料目录单 in its configured order: each material uploaded or required, with the
    file names uploaded for it."""
    from .eligibility import required_materials

    required = {m.code for m in required_materials(cfg, app)}
    files: dict[str, list[str]] = {}
    for a in sorted(app.attachments, key=lambda a: a.id):
        files.setdefault(a.material, []).append(a.filename)
    return [{"code": m.code, "name": label(m), "files": files.get(m.code, []),
             "required": m.code in required}
            for m in cfg.checklist.material if m.code in files or m.code in required]


def _qr(code: str) -> str:
    import segno
    return segno.make(code, error="m").png_data_uri(scale=4, border=2)


def _only_data():
    """The QR code is the one resource a form loads; nothing outside is fetched."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)


def record_pdf(template: str, **ctx) -> bytes:
    """A document kept on record, as a PDF in Chinese whatever the reader's language, with the
    CJK font its template names embedded. Callers build `ctx` under the same locale."""
    from weasyprint import HTML

    with force_locale(RECORD_LOCALE):
        html = render_template(template, **ctx)
    return HTML(string=html, url_fetcher=_only_data()).write_pdf()


def form_pdf(cfg, app: Application, kind: str) -> bytes:
    """The 评审表 or 送审表 as a PDF, in Chinese, with the file code, its QR code and the checklist."""
    if kind not in forms_for(app):
        raise Forbidden(_l("此申报无需该表。"))
    code = file_code(app)
    with force_locale(RECORD_LOCALE):
        return record_pdf(
            "paper/form.html", app=app, title=str(FORMS[kind]), kind=kind, code=code,
            qr=_qr(code), items=checklist(cfg, app), plan=label(app.plan),
            series=label(cfg.series(app.series)), level=label(cfg.level(app.level)),
            committee=label(app.committee),
            paper=app.review_mode in PAPER_MODES)


def held_application(cfg, actor: Actor, code: str) -> Application:
    """The application a code names, if this office holds it now; else refused."""
    app_id = parse_code(actor.tenant_id, code)
    if app_id is None:
        raise Invalid(_l("编码无效，请核对后重新输入或扫描。"))
    app = db.session.get(Application, app_id)
    if app is None or app.tenant_id != actor.tenant_id:
        raise Invalid(_l("编码无效，请核对后重新输入或扫描。"))
    if app.status not in _HELD or not _is_holder(actor, app):
        raise Forbidden(_l("该申报当前不在本单位办理，不能登记纸质材料。"))
    if app.review_mode not in PAPER_MODES:
        raise Invalid(_l("该申报的评审方式不需要报送纸质材料。"))
    return app


def receive(cfg, actor: Actor, code: str, arrived, *, now: datetime | None = None,
            opinion: str = "") -> PaperReceipt:
    """Record what arrived on paper against the checklist. Online and paper must match: a
    material uploaded online but missing on paper, or on paper with nothing online, returns the
    file to the applicant with the list (CF-PAPER-2). The tier's window holds either way."""
    app = held_application(cfg, actor, code)
    now = now_local(now)
    _refuse_closed(app.plan, office_stage_for(app), now)
    known = {m.code: m for m in cfg.checklist.material}
    paper = {c for c in arrived if c in known}
    online = Counter(a.material for a in app.attachments)
    order = [m.code for m in cfg.checklist.material]
    missing = [c for c in order if online[c] and c not in paper]
    extra = [c for c in order if c in paper and not online[c]]
    items = [{"material": c, "online": online[c], "paper": c in paper}
             for c in order if online[c] or c in paper]
    code = file_code(app)
    receipt = PaperReceipt(tenant_id=app.tenant_id, application_id=app.id, org_id=actor.org_id,
                           user_id=actor.user_id, received_at=now, code=code, items=items,
                           matched=not (missing or extra))
    if missing or extra:
        corrections = (
            [{"target": f"material:{c}", "text": _record(_l(
                "纸质材料中缺少“%(m)s”，与网上申报不一致。", m=label(known[c])))} for c in missing]
            + [{"target": f"material:{c}", "text": _record(_l(
                "纸质材料中有“%(m)s”，但网上未上传，与网上申报不一致。", m=label(known[c])))}
               for c in extra])
        transition(cfg, app, "return", actor, now=now, items=corrections,
                   opinion=(opinion or "").strip() or _record(_l("纸质材料与网上申报不一致，退回补正。")))
    db.session.add(receipt)
    audit(actor, "applications", app.id, "paper_received" if receipt.matched else "paper_mismatch",
          reason=code, now=now)
    db.session.commit()
    return receipt


def receipts_of(app: Application) -> list[PaperReceipt]:
    return list(db.session.scalars(sa.select(PaperReceipt).filter_by(application_id=app.id)
                                   .order_by(PaperReceipt.id)))
