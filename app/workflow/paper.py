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
from ..models import Application, ReviewMode, Section, Status
from ..models.paper import PaperReceipt
from ..tenancy import label
from ..tenancy.schema import StepKind
from . import agency as _agency  # noqa: F401  (registers agency_return)
from . import directed
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
_AT_AGENCY = (Status.recommended.value,)  # the committee office's check (复核)
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


GENDERS = {"male": _l("男"), "female": _l("女")}
# The box each kind of route step fills on the 评审表 (CF-UNIT-1, BJ-UNIT-1).
STEP_BOXES = {
    StepKind.employer.value: _l("用人单位审核推荐意见"),
    StepKind.supervising_department.value: _l("主管部门复审意见"),
    StepKind.county_department.value: _l("行业主管部门审核意见"),
    StepKind.city_department.value: _l("行业主管部门审核意见"),
    StepKind.county_hr.value: _l("人力资源社会保障部门审核意见"),
    StepKind.city_hr.value: _l("人力资源社会保障部门审核意见"),
    StepKind.region_hr.value: _l("人力资源社会保障部门审核意见"),
    StepKind.agency.value: _l("评审委员会（办事机构）复核意见"),
}
ASSOCIATION_BOX = _l("推荐协会（学会）审核推荐意见")
ACHIEVEMENTS = (Section.papers.value, Section.awards.value, Section.patents.value,
                Section.projects.value)


def _day(at) -> str:
    return now_local(at).date().isoformat() if at else ""


def highest_education(app: Application) -> dict:
    """The education entry graduated last (the highest, as entered)."""
    return graduated_last(e.data for e in app.entries if e.section == Section.education.value)


def graduated_last(rows) -> dict:
    """Of education entries' data, the one graduated last; {} when there is none."""
    return max(rows, key=lambda d: d.get("graduated_on") or "", default={})


def facts(cfg, app: Application) -> dict:
    """The person and the application as the forms and the roster print them (current locale)."""
    from .applications import entry_text
    from .people import PERSON_TYPE_LABELS
    from .policies import ORDINARY
    basic = app.basic or {}
    edu = highest_education(app)
    level_now = cfg.level(basic.get("current_level") or "")
    unit = app.employer or app.association
    return {
        "name": app.applicant.name, "gender": str(GENDERS.get(basic.get("gender"), "")),
        "birth_date": basic.get("birth_date") or "",
        "id_number": app.applicant.id_number_masked or "",
        "person_type": str(PERSON_TYPE_LABELS.get(app.person_type, app.person_type)),
        "unit": unit.name if unit else "",
        "education": entry_text("degree", edu.get("degree")) if edu else "",
        "school": " ".join(x for x in (edu.get("school"), edu.get("major")) if x),
        "current_title": basic.get("current_title") or label(level_now),
        "current_level": label(level_now), "title_on": basic.get("title_on") or "",
        "series": label(cfg.series(app.series)),
        "specialty": label(cfg.specialty(app.series, app.specialty)) if app.specialty else "",
        "level": label(cfg.level(app.level)), "mode": str(mode_label(app)),
        "policy": label(cfg.policy(app.policy)) if app.policy else str(ORDINARY),
        "committee": label(app.committee), "plan": label(app.plan),
    }


def sections(app: Application) -> list[dict]:
    """The list sections in the form's order: each with its columns and its rows as printed."""
    from .applications import SECTION_FIELDS, SECTION_TITLES, entry_text
    out = []
    for key, fields in SECTION_FIELDS.items():
        rows = [[entry_text(k, e.data.get(k)) for k, _label, _req in fields]
                for e in app.entries if e.section == key]
        out.append({"key": key, "title": str(SECTION_TITLES[key]),
                    "columns": [str(lbl) for _k, lbl, _req in fields], "rows": rows,
                    "achievement": key in ACHIEVEMENTS})
    return out


def step_boxes(app: Application) -> list[dict]:
    """One box per office on the file's route, in route order, each holding every step that
    office recorded (reviewer, what was done, opinion, date); then any office that acted off the
    route (a freelancer's association). A box nobody has filled yet is printed empty for the
    office to fill by hand, with room for its seal."""
    from .transitions import action_label
    by_org: dict[int | None, list] = {}
    for s in sorted(app.steps, key=lambda s: (s.at, s.id)):
        by_org.setdefault(s.org_id, []).append(s)
    boxes, seen = [], set()
    for step in app.route or []:
        org_id = step.get("org_id")
        if org_id in seen:
            continue
        seen.add(org_id)
        boxes.append({"title": str(STEP_BOXES.get(step["kind"], "")), "org_id": org_id})
    for org_id in by_org:
        if org_id not in seen:
            seen.add(org_id)
            boxes.append({"title": str(ASSOCIATION_BOX if app.association_org_id == org_id
                                       else _l("审核意见")), "org_id": org_id})
    from ..models import Org
    orgs = {o.id: o for o in db.session.scalars(sa.select(Org).where(Org.id.in_(
        [b["org_id"] for b in boxes if b["org_id"]])))}
    for b in boxes:
        org = orgs.get(b["org_id"])
        b["org"] = label(org) if org else ""
        b["steps"] = [{"reviewer": s.reviewer_name, "action": str(action_label(s.action)),
                       "opinion": s.opinion or "", "date": _day(s.at),
                       "corrections": [i.get("text", "") for i in (s.items or [])]}
                      for s in by_org.get(b["org_id"], [])]
    return boxes


def pledge_of(cfg, app: Application) -> dict | None:
    """The pledge as signed with the file, for printing (BJ-PLEDGE-1, CF-PLEDGE-1)."""
    from . import pledge
    if not app.pledge_signed_at:
        return None
    title = cfg.pledge.title if cfg.pledge is not None else ""
    return {"title": title, "text": pledge.paragraphs(app), "version": app.pledge_version,
            "sha256": app.pledge_sha256,
            "signed_at": now_local(app.pledge_signed_at).strftime("%Y-%m-%d %H:%M")}


def form_pdf(cfg, app: Application, kind: str) -> bytes:
    """The 评审表 or 送审表 as an A4 PDF, in Chinese, with the file code and its QR code on the
    first page and the code and page number on every page.

    The 评审表 carries the whole application — basic information, education, work history,
    achievements with the evidence list, the policy applied, the signed pledge — and a box per
    office on the route filled from the recorded steps (CF-FORMS-1, CF-UNIT-1). The 送审表 is the
    delivery form: the material checklist with counts and the receipt signatures (CF-PAPER-1)."""
    if kind not in forms_for(app):
        raise Forbidden(_l("此申报无需该表。"))
    code = file_code(app)
    with force_locale(RECORD_LOCALE):
        items = checklist(cfg, app)
        route = [{"title": str(STEP_BOXES.get(s["kind"], "")), "org_id": s.get("org_id")}
                 for s in app.route or []]
        from ..models import Org
        names = {o.id: label(o) for o in db.session.scalars(sa.select(Org).where(
            Org.id.in_([r["org_id"] for r in route if r["org_id"]])))}
        receipts = [{"org": names.get(r["org_id"], "")} for r in route]
        return record_pdf(
            "paper/form.html", app=app, title=str(FORMS[kind]), kind=kind, code=code,
            qr=_qr(code), items=items, facts=facts(cfg, app),
            sections=sections(app) if kind == "review" else [],
            boxes=step_boxes(app) if kind == "review" else [],
            pledge=pledge_of(cfg, app), receipts=receipts,
            files=sum(len(i["files"]) for i in items),
            poge=app.poge, submitted_on=_day(app.submitted_at),
            paper=app.review_mode in PAPER_MODES)


def _at_agency(app: Application) -> bool:
    step = app.current_step
    return step is not None and step["kind"] == StepKind.agency.value


def held_application(cfg, actor: Actor, code: str) -> Application:
    """The application a code names, if this office holds it now on its route — an office
    while reviewing it, the committee office while checking it; else refused."""
    app_id = parse_code(actor.tenant_id, code)
    if app_id is None:
        raise Invalid(_l("编码无效，请核对后重新输入或扫描。"))
    app = db.session.get(Application, app_id)
    if app is None or app.tenant_id != actor.tenant_id:
        raise Invalid(_l("编码无效，请核对后重新输入或扫描。"))
    held = _AT_AGENCY if _at_agency(app) else _HELD
    if app.status not in held or not _is_holder(actor, app):
        raise Forbidden(_l("该申报当前不在本单位办理，不能登记纸质材料。"))
    if app.review_mode not in PAPER_MODES:
        raise Invalid(_l("该申报的评审方式不需要报送纸质材料。"))
    return app


def _stage(app: Application) -> str:
    return "agency_check" if _at_agency(app) else office_stage_for(app)


def receivable(cfg, actor: Actor, code: str, now: datetime) -> Application:
    """The application whose paper this office may record now (its holder, in its window);
    else refused, nothing written."""
    app = held_application(cfg, actor, code)
    _refuse_closed(app.plan, _stage(app), now)
    if directed.applies(app) and directed.is_city_hr(actor.org_id):
        _refuse_closed(app.plan, directed.PAPER_STAGE, now)
    return app


def complete_set(app: Application) -> list[str]:
    """Every material uploaded online: what arrives when the paper file matches it."""
    return sorted({a.material for a in app.attachments})


def receive(cfg, actor: Actor, code: str, arrived, *, now: datetime | None = None,
            opinion: str = "") -> PaperReceipt:
    """Record what arrived on paper against the checklist, by whichever office holds the file
    on its route, the committee office included. Online and paper must match: a material
    uploaded online but missing on paper, or on paper with nothing online, returns the file to
    the applicant with the list (CF-PAPER-2) — an office's return, or the committee office's
    with its correction deadline. The holder's window holds either way; city HR receives a
    directed-evaluation file's paper only until the plan's `paper_to_city` close (CF-WIN-4)."""
    now = now_local(now)
    app = receivable(cfg, actor, code, now)
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
        action = "agency_return" if _at_agency(app) else "return"
        transition(cfg, app, action, actor, now=now, items=corrections,
                   opinion=(opinion or "").strip() or _record(_l("纸质材料与网上申报不一致，退回补正。")))
    db.session.add(receipt)
    audit(actor, "applications", app.id, "paper_received" if receipt.matched else "paper_mismatch",
          reason=code, now=now)
    db.session.commit()
    return receipt


def receipts_of(app: Application) -> list[PaperReceipt]:
    return list(db.session.scalars(sa.select(PaperReceipt).filter_by(application_id=app.id)
                                   .order_by(PaperReceipt.id)))
