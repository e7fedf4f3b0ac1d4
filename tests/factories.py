"""Factories for test data; call them inside an app context."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image
from pypdf import PdfWriter

from app.extensions import db
from app.models import Application, Attachment, Committee, Entry, Org, Plan, Tenant, User
from app.tenancy import tenants
from app.tenancy.schema import OrgKind
from app.workflow.accounts import hash_password, set_id_number
from app.workflow.actors import Actor
from app.workflow.ids import clean_uscc
from app.workflow.policies import level_below

from .conftest import PASSWORD

# Valid GB 11643 numbers (the standard's own example first) and GB 32100 codes.
ID_NUMBERS = ["11010519491231002X", "110108198506154321", "15042119900303567X",
              "440304198501012019", "360426199101010071"]
USCCS = ["91110000600037341L", "91110108MA01AB23CD", "12110000400012345U", "91110302MA00XY45A2",
         "51110105MJ0012345E", "121100007178000018", "91110229MA00LD002U", "91150402MA0N123457",
         "11150400011600001N", "12150402460000001J"]

# The version of both tenants' personal pledge (tenants/*/pledge.toml), ticked on submitting.
PLEDGE = "2026.1"


def tenant_id(slug: str) -> int:
    return db.session.scalar(sa.select(Tenant.id).filter_by(slug=slug))


def org(slug: str, code: str) -> Org:
    return db.session.scalar(sa.select(Org).filter_by(tenant_id=tenant_id(slug), code=code))


def plan(slug: str, code: str) -> Plan:
    return db.session.scalar(sa.select(Plan).filter_by(tenant_id=tenant_id(slug), code=code))


def committee(slug: str, code: str) -> Committee:
    return db.session.scalar(sa.select(Committee).filter_by(tenant_id=tenant_id(slug), code=code))


_uscc_counter = iter(range(10**6))


def make_employer(slug: str, code: str, district: str, kind: str = "state_owned",
                  tier: str = "county", parent: str | None = None, **kw) -> Org:
    n = next(_uscc_counter)
    base = f"9111{n:04d}MA00{n:05d}"[:17]
    from stdnum.cn import uscc
    e = Org(tenant_id=tenant_id(slug), code=code, name=kw.pop("name", f"单位{code}"),
            kind=OrgKind.employer.value, tier=tier, district=district,
            uscc=clean_uscc(base + uscc.calc_check_digit(base)), employer_kind=kind,
            parent_id=org(slug, parent).id if parent else None, status=kw.pop("status", "approved"),
            **kw)
    db.session.add(e)
    db.session.commit()
    return e


_mobiles = iter(range(10**8))  # a mobile is unique per tenant


def make_user(slug: str, username: str, role: str, org_code: str | None = None,
              person_type: str | None = None, id_number: str | None = None,
              association: str | None = None, name: str | None = None) -> User:
    u = User(tenant_id=tenant_id(slug), username=username, name=name or username, role=role,
             org_id=org(slug, org_code).id if org_code else None,
             association_org_id=org(slug, association).id if association else None,
             person_type=person_type or ("professional" if role == "applicant" else None),
             password_hash=hash_password(PASSWORD), mobile=f"145{next(_mobiles):08d}")
    if id_number:
        assert set_id_number(u, id_number)
    db.session.add(u)
    db.session.commit()
    return u


def pdf_bytes(pages: int = 1) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, "PNG")
    return buf.getvalue()


def make_application(slug: str, applicant: User, plan_code: str, committee_code: str,
                     series: str, level: str, specialty: str | None = None,
                     complete: bool = True, materials: dict | None = None, **kw) -> Application:
    """A draft; `complete` fills basic info, one education and one work entry and the
    materials every application needs (plus `materials`: {code: count})."""
    cfg = tenants()[slug]
    app = Application(tenant_id=applicant.tenant_id, applicant_id=applicant.id,
                      plan_id=plan(slug, plan_code).id,
                      committee_id=committee(slug, committee_code).id, series=series,
                      level=level, specialty=specialty, person_type=applicant.person_type,
                      employer_org_id=applicant.org_id,
                      association_org_id=applicant.association_org_id,
                      basic={"name": applicant.name}, **kw)
    db.session.add(app)
    db.session.flush()
    if complete:
        below = level_below(cfg, level)  # rank by rank, where the tenant requires it
        app.basic = {"name": applicant.name, "gender": "male", "birth_date": "1985-06-15",
                     "current_level": below.code if below else "", "title_on": "2015-07-01"}
        if applicant.person_type == "freelancer" and cfg.policies.freelancer is not None:
            # The freelance declaration (BJ-SCOPE-3): the first listed field, years back.
            app.basic.update(freelance_field=cfg.policies.freelancer.fields[0].code,
                             freelance_since="2020-01-01")
        db.session.add(Entry(application_id=app.id, section="education",
                             data={"school": "北京工业大学", "major": "机械", "degree": "本科",
                                   "graduated_on": "2007-07-01"}))
        db.session.add(Entry(application_id=app.id, section="work",
                             data={"org_name": "单位", "position": "工程师", "start": "2007-08-01"}))
        wanted = {m.code: 1 for m in cfg.checklist.material
                  if m.required_when in ("always", "continuing_education")}
        wanted.update(materials or {})
        for code, count in wanted.items():
            for i in range(count):
                db.session.add(Attachment(application_id=app.id, material=code,
                                          filename=f"{code}-{i}.pdf", stored_name=f"x{code}{i}.pdf",
                                          mime="application/pdf", size=100, sha256="0" * 64,
                                          uploaded_by=applicant.id))
    db.session.commit()
    return app


def actor(user: User, ip: str = "127.0.0.1") -> Actor:
    return Actor.of(user, ip)


def make_expert(slug: str, name: str, *, level: str = "senior", title_year: int = 2015,
                series: str = "engineering", specialty: str | None = None, role: str = "member",
                employer: str | None = None, private: bool = False, birth=(1970, 5, 1),
                term_start=(2025, 1, 1), terms: int = 1, signed: bool = True, user: bool = True):
    from datetime import date

    from app.models import Expert, utcnow
    u = make_user(slug, f"x-{name}", "expert", name=name) if user else None
    e = Expert(tenant_id=tenant_id(slug), user_id=u.id if u else None, name=name, gender="male",
               birth_date=date(*birth), title_level=level, title_year=title_year, series=series,
               specialty=specialty, employer_org_id=org(slug, employer).id if employer else None,
               private_sector=private, role=role, entry_route="invited", term_start=date(*term_start),
               terms=terms, confidentiality_signed_at=utcnow() if signed else None)
    db.session.add(e)
    db.session.commit()
    return e


def file_committee(slug: str, code: str, filed=(2026, 1, 1), until=(2028, 12, 31)):
    from datetime import date
    c = committee(slug, code)
    c.filed_on, c.valid_until = date(*filed), date(*until)
    c.scope, c.procedure = "本市工程技术人员", "材料评审、答辩、表决"
    c.standard = [{"code": "c1", "name": "业绩成果", "max": 60},
                  {"code": "c2", "name": "答辩", "max": 40}]
    db.session.commit()
    return c


def unit_documents_approved(cfg, clerk, city, decided: str = "2026-02-20"):
    """A self-review unit's office named and its plan and standards decided, publicised (21–27
    Feb 2026) and approved by the city HR bureau (seed 002 第九条(一)(二)); its setup."""
    from app.workflow import self_review_run as run
    from app.workflow.transitions import transition
    unit = actor(clerk)
    setup = run.ensure_setup(unit)
    transition(cfg, setup, "name_office", unit, office_name="职称评审办公室",
               office_contact="王老师 010-12345678")
    run.record_decision(cfg, unit, setup, {"plan": ("方案.pdf", pdf_bytes()),
                                           "standards": ("标准.pdf", pdf_bytes())},
                        decision_body="党委会", decided_on=decided)
    transition(cfg, setup, "record_publicity", unit, publicity_from="2026-02-21",
               publicity_to="2026-02-27")
    transition(cfg, setup, "submit_documents", unit)
    transition(cfg, setup, "approve_documents", actor(city))
    return setup
