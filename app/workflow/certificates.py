"""E-certificates: batch issuance with result letters (BJ-CERT-1), public verification
(BJ23-VERIFY-1), revocation into the integrity record (BJ-INTEG-1, CF-INTEG-1).

Issuance is a job: it renders each file's two PDFs, then moves the files passed → certified with
one set-based UPDATE and writes their certificates and audit events in the same commit. Files
someone else certified meanwhile are left out, so a second run issues nothing new."""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .. import uploads
from ..extensions import db
from ..models import (
    Application, JobRun, Org, ReviewSession, Role, SessionItem, Status, utcnow,
)
from ..models.certificates import Certificate, CertificateStatus, IntegrityRecord, RevokeReason
from ..tenancy import config_for, label
from ..tenancy.schema import OrgKind, Tier
from .actors import Actor
from .bulk import Change, move_set
from .calendar import today_local
from .deadlines import recorded
from .errors import Invalid
from .ids import mask_name
from .integrity import record_ends, record_years
from .results import certifiable_ids
from .transitions import ACTION_LABELS, Ctx, Rule, register

# Crockford's base32: no I, L, O or U, so a number read aloud or retyped is not misread.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_RANDOM_CHARS = 10  # 50 random bits: numbers cannot be guessed, only looked up
QR_SCALE, QR_BORDER = 6, 2  # pixels per module, quiet-zone modules
PDF = "application/pdf"

REVOKE_LABELS = {
    RevokeReason.false_material.value: _l("提供虚假材料"),
    RevokeReason.plagiarism.value: _l("剽窃他人作品和学术成果"),
    RevokeReason.improper_means.value: _l("采取其他不正当手段"),
}
ACTION_LABELS.update({"certify": _l("核发电子证书"), "revoke": _l("撤销职称"),
                      "annul": _l("撤销评审结果")})


# -- numbers and links -----------------------------------------------------------------------

def new_number(prefix: str, year: int) -> str:
    """BJ2026-7K3QH2M9XA: tenant prefix, plan year, 10 random base32 characters."""
    tail = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_RANDOM_CHARS))
    return f"{prefix}{year}-{tail}"


# A number with its separators taken out: prefix letters, the plan year, the random part.
_NUMBER_PARTS = re.compile(r"([A-Z]{2,4})([0-9]{4})([0-9A-Z]{%d})" % NUMBER_RANDOM_CHARS)


def clean_number(text: str) -> str:
    """A number as typed: case, spaces, dashes (or none) and the letters Crockford reads as
    digits forgiven, so bj-2026-7k3q-h2m9-xa and BJ20267K3QH2M9XA both find BJ2026-7K3QH2M9XA."""
    # NFKC: full-width letters, digits and dashes typed with a Chinese input method count too.
    typed = unicodedata.normalize("NFKC", text or "")
    compact = re.sub(r"[\s\-\u2010-\u2015\u2212_]+", "", typed).upper()
    parts = _NUMBER_PARTS.fullmatch(compact)
    if parts is None:
        return compact
    head, year, tail = parts.groups()
    return f"{head}{year}-{tail.translate(str.maketrans('OIL', '011'))}"


def verify_url(tenant_slug: str, number: str) -> str:
    """The absolute public verification link printed on the documents and in their QR code."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    return adapter.build("certify.verify", {"tenant": tenant_slug, "number": number},
                         force_external=True)


def qr_data_uri(url: str) -> str:
    import segno
    return segno.make(url, error="m").png_data_uri(scale=QR_SCALE, border=QR_BORDER)


def find(tenant_id: int, number: str) -> Certificate | None:
    return db.session.scalar(sa.select(Certificate).filter_by(
        tenant_id=tenant_id, number=clean_number(number)))


def by_id(tenant_id: int, cert_id: int) -> Certificate | None:
    return db.session.scalar(sa.select(Certificate).filter_by(id=cert_id, tenant_id=tenant_id))


def matching(tenant_id: int, number: str, name: str) -> Certificate | None:
    """The certificate with this number whose holder has exactly this full name (the query)."""
    cert = find(tenant_id, number)
    return cert if cert is not None and cert.holder_name == (name or "").strip() else None


def public_facts(cert: Certificate) -> dict:
    """What anyone may see of a certificate: never the full name or ID number."""
    cfg = config_for(cert.tenant_id)
    return {"number": cert.number, "holder": mask_name(cert.holder_name), "id": cert.id_masked,
            "id_type": cert.holder.id_doc_type if cert.holder else "resident_id",
            "series": label(cfg.series(cert.series)),
            "specialty": label(cfg.specialty(cert.series, cert.specialty or "")),
            "level": label(cfg.level(cert.level)), "issued_on": cert.issued_on,
            "issuer": label(cert.issuer), "revoked": cert.revoked,
            "revoked_on": cert.revoked_at, "revoke_reason": REVOKE_LABELS.get(cert.revoke_kind)}


def certificates_of(tenant_id: int, user_id: int) -> list[Certificate]:
    return db.session.scalars(sa.select(Certificate).filter_by(
        tenant_id=tenant_id, holder_id=user_id).order_by(Certificate.id.desc())).all()


def own_certificate(tenant_id: int, user_id: int, cert_id: int) -> Certificate | None:
    return db.session.scalar(sa.select(Certificate).filter_by(
        id=cert_id, tenant_id=tenant_id, holder_id=user_id))


# -- documents ---------------------------------------------------------------------------------

def _review_day(app_id: int) -> date | None:
    return db.session.scalar(
        sa.select(ReviewSession.held_on)
        .join(SessionItem, SessionItem.session_id == ReviewSession.id)
        .where(SessionItem.application_id == app_id, SessionItem.result == "passed")
        .order_by(ReviewSession.held_on.desc()).limit(1))


def document_context(cfg, app: Application, number: str, issuer: Org, today: date) -> dict:
    url = verify_url(cfg.slug, number)
    return {
        "number": number, "name": app.applicant.name, "gender": (app.basic or {}).get("gender"),
        "id_masked": app.applicant.id_number_masked or "",
        "series": label(cfg.series(app.series)),
        "specialty": label(cfg.specialty(app.series, app.specialty or "")),
        "level": label(cfg.level(app.level)), "committee": app.committee.name,
        "reviewed_on": _review_day(app.id), "issuer": issuer.name, "issued_on": today,
        "year": app.plan.year, "verify_url": url, "qr": qr_data_uri(url),
    }


def render_pdf(template: str, **ctx) -> bytes:
    """A PDF from an HTML template, always in Chinese (the documents are records)."""
    from weasyprint import HTML
    with force_locale("zh_Hans_CN"):
        html = render_template(template, **ctx)
    return HTML(string=html).write_pdf()


# -- batch issuance (BJ-CERT-1) ----------------------------------------------------------------

@dataclass
class _Batch:
    slug: str
    batch_id: str
    written: list[str] = field(default_factory=list)   # stored file names, to remove on failure
    taken: set[str] = field(default_factory=set)        # numbers given out in this batch

    def store(self, data: bytes) -> str:
        name, _ = uploads.store(self.slug, data, PDF)
        self.written.append(name)
        return name

    def discard(self, names) -> None:
        for name in names:
            uploads.remove(self.slug, name)


def _unused_number(prefix: str, year: int, taken: set[str]) -> str:
    while True:
        number = new_number(prefix, year)
        if number not in taken and db.session.scalar(
                sa.select(Certificate.id).filter_by(number=number)) is None:
            taken.add(number)
            return number


def _draft(cfg, app: Application, issuer: Org, today: date, batch: _Batch) -> dict:
    """Render and store one file's certificate and letter; return its certificate row."""
    number = _unused_number(cfg.policies.certificates.number_prefix, app.plan.year, batch.taken)
    ctx = document_context(cfg, app, number, issuer, today)
    return {"tenant_id": app.tenant_id, "application_id": app.id, "holder_id": app.applicant_id,
            "number": number, "holder_name": app.applicant.name, "id_masked": ctx["id_masked"],
            "series": app.series, "specialty": app.specialty, "level": app.level,
            "issued_on": today, "issuer_org_id": issuer.id, "batch_id": batch.batch_id,
            "pdf_name": batch.store(render_pdf("certify/pdf_certificate.html", **ctx)),
            "letter_name": batch.store(render_pdf("certify/pdf_letter.html", **ctx)),
            "status": CertificateStatus.valid.value, "version": 1, "created_at": utcnow()}


def _certify(tenant_id: int, rows: list[dict]) -> set[int]:
    """One UPDATE ... RETURNING: the files of `rows` still passed become certified, each audited
    with its certificate number."""
    numbers = {r["application_id"]: r["number"] for r in rows}
    return set(move_set(Actor.system(tenant_id), [
        Application.tenant_id == tenant_id, Application.id.in_(numbers)],
        Change(Status.passed.value, Status.certified.value, "certify"),
        values={"holder_org_id": None}, reason_of=numbers.get))


def issue_batch(tenant_id: int, today: date | None = None, rq_job_id: str | None = None) -> JobRun:
    """Issue a certificate and a result letter for every certifiable file of the tenant and move
    the files to certified; recorded as a JobRun. Safe to run again: nothing is issued twice."""
    cfg = config_for(tenant_id)
    today = today or today_local()
    batch = _Batch(cfg.slug, f"{today:%Y%m%d}-{secrets.token_hex(3)}")
    run = JobRun(tenant_id=tenant_id, name="issue_certificates",
                 key=f"certificates:{tenant_id}:{batch.batch_id}", rq_job_id=rq_job_id,
                 started_at=utcnow())
    policy = cfg.policies.certificates
    if policy is None:  # the tenant issues no e-certificates through the portal
        return recorded(run, lambda: 0)

    def work() -> int:
        # A file in two published sessions would be listed twice.
        ids = sorted(set(certifiable_ids(tenant_id, today)))
        if not ids:
            return 0
        issuer = db.session.scalar(sa.select(Org).filter_by(tenant_id=tenant_id,
                                                            code=policy.issuer))
        apps = db.session.scalars(sa.select(Application).where(Application.id.in_(ids)).options(
            selectinload(Application.applicant), selectinload(Application.plan),
            selectinload(Application.committee)))
        rows = [_draft(cfg, app, issuer, today, batch) for app in apps]
        moved = _certify(tenant_id, rows)
        # Certified by a concurrent run since we looked: theirs stands, our files go.
        batch.discard(n for r in rows if r["application_id"] not in moved
                      for n in (r["pdf_name"], r["letter_name"]))
        rows = [r for r in rows if r["application_id"] in moved]
        if rows:
            db.session.execute(sa.insert(Certificate), rows)
        return len(rows)

    try:
        return recorded(run, work)
    except Exception:
        batch.discard(batch.written)  # leave no file without its certificate row
        raise


# -- revocation (BJ-INTEG-1, CF-INTEG-1) -------------------------------------------------------

REVOKING_TIERS = (Tier.city.value, Tier.region.value)


def may_revoke(actor: Actor) -> bool:
    """The issuing side: the tenant's administrator or an officer of a city or region HR bureau."""
    if actor.role == Role.tenant_admin.value:
        return True
    if actor.role != Role.hr_officer.value or actor.org_id is None:
        return False
    org = db.session.get(Org, actor.org_id)
    return (org is not None and org.tenant_id == actor.tenant_id
            and org.kind == OrgKind.hr_bureau.value and org.tier in REVOKING_TIERS)


def _revoke(cert: Certificate, ctx: Ctx) -> dict:
    kind = ctx.params.get("kind")
    note = (ctx.params.get("opinion") or "").strip()
    if kind not in REVOKE_LABELS:
        raise Invalid(_l("请选择撤销原因。"))
    if not note:
        raise Invalid(_l("请写明经核实的违规事实。"))
    today = ctx.now.date()
    holder = cert.holder
    serious = bool(ctx.params.get("serious"))  # 情节严重: the record also bars applying
    reason = f"{_record_text(REVOKE_LABELS[kind])}：{note[:2000]}"
    if serious:
        reason = f"{reason}（{_record_text(_l('情节严重'))}）"
    ctx.after += [
        lambda: move_set(ctx.actor, [Application.id == cert.application_id],
                         Change(Status.certified.value, Status.annulled.value, "annul", reason),
                         at=ctx.now),
        sa.insert(IntegrityRecord).values(
            tenant_id=cert.tenant_id, user_id=holder.id, id_number_hash=holder.id_number_hash,
            reason=reason, starts_on=today,
            ends_on=record_ends(today, record_years(ctx.cfg)),
            certificate_id=cert.id, serious=serious, created_by=ctx.actor.user_id,
            created_at=utcnow()),
    ]
    return {"status": CertificateStatus.revoked.value, "revoked_at": ctx.now,
            "revoke_kind": kind, "revoke_reason": note[:2000], "revoked_by": ctx.actor.user_id}


def _record_text(text) -> str:
    with force_locale("zh_Hans_CN"):
        return str(text)


register(Certificate, {
    "revoke": Rule((CertificateStatus.valid.value,), lambda actor, cert: may_revoke(actor),
                   lambda cert: None, _revoke),
}, labels={CertificateStatus.valid.value: _l("有效"),
           CertificateStatus.revoked.value: _l("已撤销")})


def integrity_records_of(cert: Certificate) -> list[IntegrityRecord]:
    return db.session.scalars(sa.select(IntegrityRecord).filter_by(
        certificate_id=cert.id).order_by(IntegrityRecord.id)).all()

