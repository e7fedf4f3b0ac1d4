"""The year's directory of committees and agencies (名录, seed 000 二 and 三(一)1; seed 003 第九条
(二)): generated from the filed agencies and committees, published by the city HR bureau on the
tenant's public page, exported as .xlsx, and what applicants choose their committee from
(BJ-DIR-1, AE-DUTY-1)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Committee, Org, Plan, utcnow
from ..models.agencies import AgencyFiling, AgencySuspension, Directory
from ..spreadsheets import append
from ..tenancy import label
from ..tenancy.schema import OrgKind
from .actors import Actor
from .agencies import _require_city_hr, standing
from .errors import Conflict, Invalid
from .paper import MODE_LABELS
from .transitions import audit

if TYPE_CHECKING:
    from openpyxl import Workbook

EXCLUDED_COMMITTEE = {"not_filed": _l("评委会未备案"), "expired": _l("评委会备案不在有效期内"),
                      # seed 002 第六条: a unit's committee takes its own staff only; they find
                      # it on their unit's plan, not in the public directory.
                      "self_review": _l("自主评审单位的评委会，只受理本单位人员"),
                      "agency_not_filed": _l("办事机构未备案")}


def _material_codes(cfg) -> list[str]:
    """The materials every applicant provides, from the tenant's checklist."""
    return [m.code for m in cfg.checklist.material
            if m.required_when is None or m.required_when.value == "always"]


def build_rows(cfg, tenant_id: int, year: int, day: date) -> tuple[list[dict], list[dict]]:
    """(rows, excluded): a row per committee, series and level the committee reviews, for the
    committees filed and valid on `day` whose agency is filed, unexpired and unsuspended; the
    others with the reason they are left out."""
    committees = db.session.scalars(sa.select(Committee).filter_by(tenant_id=tenant_id)
                                    .order_by(Committee.id)).all()
    agency_ids = {c.agency_org_id for c in committees}
    orgs = {o.id: o for o in db.session.scalars(sa.select(Org).where(
        Org.id.in_(agency_ids or [0])))}
    filings = {f.org_id: f for f in db.session.scalars(sa.select(AgencyFiling).where(
        AgencyFiling.tenant_id == tenant_id, AgencyFiling.org_id.in_(agency_ids or [0])))}
    stand = standing(tenant_id, agency_ids, day)
    plans = db.session.scalars(sa.select(Plan).filter_by(tenant_id=tenant_id, year=year)
                               .order_by(Plan.is_demo, Plan.id)).all()
    materials = _material_codes(cfg)
    rows, excluded = [], []
    for c in committees:
        agency = orgs.get(c.agency_org_id)
        if c.filed_on is None:
            excluded.append({"committee": c, "reason": EXCLUDED_COMMITTEE["not_filed"]})
            continue
        if not c.filed_valid_on(day):
            excluded.append({"committee": c, "reason": EXCLUDED_COMMITTEE["expired"]})
            continue
        if agency is not None and agency.kind == OrgKind.self_review_unit.value:
            excluded.append({"committee": c, "reason": EXCLUDED_COMMITTEE["self_review"]})
            continue
        if stand.get(c.agency_org_id) is not None:
            excluded.append({"committee": c, "reason": stand[c.agency_org_id]})
            continue
        f = filings.get(c.agency_org_id)
        if f is None:
            excluded.append({"committee": c, "reason": EXCLUDED_COMMITTEE["agency_not_filed"]})
            continue
        for s_code in c.series:
            series = cfg.series(s_code)
            if series is None:
                continue
            specialties = [sp for sp in (c.specialties or [])
                           if cfg.specialty(s_code, sp) is not None]
            for lv in c.levels:
                if lv not in series.levels:
                    continue
                plan = next((p for p in plans if lv in p.levels), None)
                mode = plan.mode_for(c, s_code, specialties[0] if len(specialties) == 1 else None,
                                     lv) if plan else None
                rows.append({
                    "committee_id": c.id, "committee_code": c.code, "committee": c.name,
                    "committee_en": c.name_en, "agency_id": agency.id, "agency": agency.name,
                    "agency_en": agency.name_en, "phone": f.phone, "hours": f.hours,
                    "address": f.address, "series": s_code, "specialties": specialties,
                    "level": lv, "conditions": c.conditions or c.scope,
                    "procedure": c.procedure, "review_mode": mode,
                    "materials": c.materials, "material_codes": [] if c.materials else materials,
                    "district_only": c.district_only})
    return rows, excluded


def of_year(tenant_id: int, year: int) -> Directory | None:
    return db.session.scalar(sa.select(Directory).filter_by(tenant_id=tenant_id, year=year))


def published(tenant_id: int, year: int) -> Directory | None:
    d = of_year(tenant_id, year)
    return d if d is not None and d.rows is not None else None


def published_years(tenant_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(Directory.year).where(
        Directory.tenant_id == tenant_id, Directory.published_at.is_not(None))
        .order_by(Directory.year.desc())))


def generate(cfg, actor: Actor, year: int, day: date) -> Directory:
    """The city HR bureau generates (or regenerates) the year's draft from today's filings."""
    _require_city_hr(actor)
    if not 2000 <= year <= 2100:
        raise Invalid(_l("请填写年度。"))
    rows, _excluded = build_rows(cfg, actor.tenant_id, year, day)
    d = of_year(actor.tenant_id, year)
    if d is None:
        d = Directory(tenant_id=actor.tenant_id, year=year, version=0)
        db.session.add(d)
    d.draft_rows, d.drafted_at = rows, utcnow()
    d.version += 1
    db.session.flush()
    audit(actor, "directories", d.id, "generate", reason=f"{year}: {len(rows)}")
    db.session.commit()
    return d


def publish(cfg, actor: Actor, d: Directory, expected_version: int | None) -> None:
    """The draft becomes the year's directory: public, and what applicants choose from."""
    _require_city_hr(actor)
    if d.tenant_id != actor.tenant_id:
        raise Invalid(_l("无效的操作。"))
    if expected_version is None or d.version != expected_version:
        raise Conflict(_l("名录已被他人更新，请刷新后重试。"))
    if not d.draft_rows:
        raise Invalid(_l("名录为空：没有已备案且在有效期内的评委会，不能发布。"))
    d.rows, d.published_by, d.published_at = list(d.draft_rows), actor.user_id, utcnow()
    d.version += 1
    audit(actor, "directories", d.id, "publish", reason=f"{d.year}: {len(d.rows)}",
          to_state="published")
    db.session.commit()


# -- what applicants may choose -------------------------------------------------------------------

def _matches(row: dict, committee_id: int, series: str, level: str, specialty: str | None) -> bool:
    return (row["committee_id"] == committee_id and row["series"] == series
            and row["level"] == level
            and (not specialty or not row["specialties"] or specialty in row["specialties"]))


def refusal(cfg, plan: Plan, committee: Committee, series: str, level: str,
            specialty: str | None):
    """Why the committee may not be chosen for this series, specialty and level in the plan's
    year (None: it may). Once the city HR bureau has published the year's directory only its
    rows are open; before that, the directory of the tenant's files stands."""
    d = published(plan.tenant_id, plan.year)
    if d is None:
        if cfg.committee(committee.code) is None:
            return _l("所选评审委员会不在本年度评审委员会名录中，请从名录中选择。")
        return None
    if any(_matches(r, committee.id, series, level, specialty) for r in d.rows):
        return None
    if not any(r["committee_id"] == committee.id for r in d.rows):
        return _l("所选评审委员会不在%(y)d年度评审委员会名录中，不能受理，请从名录中选择。",
                  y=plan.year)
    return _l("所选评审委员会在%(y)d年度名录中不评审该系列、专业或级别，请从名录中选择。",
              y=plan.year)


def eligible_committee_ids(tenant_id: int, years) -> set[int] | None:
    """Committees open to applicants of these years: None when a year has no published directory
    yet (the tenant files' directory stands), else those of the published directories."""
    out: set[int] = set()
    years = set(years)
    found = {d.year: d for d in db.session.scalars(sa.select(Directory).where(
        Directory.tenant_id == tenant_id, Directory.year.in_(years or [0])))}
    for y in years:
        d = found.get(y)
        if d is None or d.rows is None:
            return None
        out |= {r["committee_id"] for r in d.rows}
    return out


# -- showing and exporting ------------------------------------------------------------------------

def columns():
    return [_l("系列"), _l("专业"), _l("级别"), _l("评审委员会"), _l("评审服务机构"),
            _l("联系电话"), _l("受理时间"), _l("办公地址"), _l("申报条件"), _l("工作程序"),
            _l("评审方式"), _l("材料要求")]


def cells(cfg, row: dict) -> list[str]:
    """A row in words, in the current language."""
    sep = str(_l("、"))
    series = cfg.series(row["series"])
    specialties = sep.join(label(cfg.specialty(row["series"], sp)) for sp in row["specialties"])
    materials = row["materials"] or sep.join(
        label(cfg.material(m)) for m in row["material_codes"] if cfg.material(m) is not None)
    mode = MODE_LABELS.get(row["review_mode"]) if row["review_mode"] else None
    committee = label(_Named(row["committee"], row["committee_en"]))
    agency = label(_Named(row["agency"], row["agency_en"]))
    return [label(series), specialties or str(_l("全部专业")), label(cfg.level(row["level"])),
            committee, agency, row["phone"], row["hours"], row["address"], row["conditions"],
            row["procedure"], str(mode) if mode else "—", materials]


class _Named:
    def __init__(self, name: str, name_en: str):
        self.name, self.name_en = name, name_en


def workbook(cfg, d: Directory) -> Workbook:
    from openpyxl import Workbook  # only here: a large import most processes never need
    wb = Workbook()
    ws = wb.active
    ws.title = str(d.year)
    append(ws, [str(c) for c in columns()])
    for row in d.rows or []:
        append(ws, cells(cfg, row))
    return wb


def contacts(tenant_id: int, day: date) -> list[dict]:
    """Each filed, unsuspended agency's name and phone, for the public pages (BJ-HELP-1): one
    query."""
    rows = db.session.execute(
        sa.select(Org, AgencyFiling.phone, AgencyFiling.hours)
        .join(AgencyFiling, AgencyFiling.org_id == Org.id)
        .where(AgencyFiling.tenant_id == tenant_id, AgencyFiling.filed_on.is_not(None),
               AgencyFiling.filed_on <= day, AgencyFiling.valid_until >= day,
               AgencyFiling.phone != "",
               Org.closed_on.is_(None),
               ~sa.select(AgencySuspension.id).where(
                   AgencySuspension.org_id == Org.id,
                   AgencySuspension.lifted_at.is_(None)).exists())
        .order_by(Org.id)).all()
    return [{"org": o, "phone": phone, "hours": hours} for o, phone, hours in rows]
