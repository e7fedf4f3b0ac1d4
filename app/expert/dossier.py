"""What an expert sees of a review session and its files.

Blind review (CF-MODE-2, CF-MODE-3) shows what judges the work and nothing about who did it.
The fields shown are a whitelist, not a blacklist: a field added to applications later stays
hidden from blind reviewers until someone decides it is safe to show."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Application, Attachment, BallotReceipt, Expert, MemberStatus, PanelMember, ReviewSession,
    Score, SessionItem,
)
from ..tenancy import label
from ..uploads import ALLOWED
from ..workflow.applications import SECTION_FIELDS, SECTION_TITLES, entry_text
from ..workflow.ids import document_label

# Per section, the fields a blind reviewer sees: no employer (work.org_name), no co-authors
# (papers.coauthors), no project members (projects.members).
BLIND_FIELDS: dict[str, tuple[str, ...]] = {
    "education": ("school", "major", "degree", "graduated_on"),
    "work": ("position", "start", "end"),
    "papers": ("title", "journal", "year"),
    "awards": ("name", "grade", "year"),
    "patents": ("title", "number", "year"),
    "projects": ("name", "role", "year"),
}
REDACTED = "＊＊＊"
NAME_SEPARATORS = "、,，;；/ \n"


@dataclass
class Dossier:
    """One file as this expert may see it."""
    code: str
    blind: bool
    applicant: dict | None                 # named review only: name, masked ID and mobile, employer
    basic: dict                            # gender, birth_year, current_title (+ more if named)
    sections: list[tuple[str, list, list]] = field(default_factory=list)  # (title, columns, rows)
    attachments: list[tuple[Attachment, str]] = field(default_factory=list)  # (scan, file name)


def expert_of(tenant_id: int, user_id: int) -> Expert | None:
    return db.session.scalar(sa.select(Expert).filter_by(tenant_id=tenant_id, user_id=user_id))


def sessions_of(expert: Expert) -> list[tuple[ReviewSession, PanelMember]]:
    """Sessions where the expert sits on the panel now (not those they withdrew from)."""
    rows = db.session.execute(
        sa.select(ReviewSession, PanelMember)
        .join(PanelMember, PanelMember.session_id == ReviewSession.id)
        .where(PanelMember.expert_id == expert.id, ReviewSession.tenant_id == expert.tenant_id,
               PanelMember.status == MemberStatus.active.value)
        .order_by(ReviewSession.held_on.desc(), ReviewSession.id.desc())).all()
    return [(s, m) for s, m in rows]


def has_voted(session: ReviewSession, member: PanelMember) -> bool:
    return db.session.scalar(sa.select(BallotReceipt.id).filter_by(
        session_id=session.id, member_id=member.id)) is not None


def my_score(item: SessionItem, member: PanelMember) -> Score | None:
    return db.session.scalar(sa.select(Score).filter_by(item_id=item.id, member_id=member.id))


def _split_names(text: str) -> list[str]:
    for sep in NAME_SEPARATORS:
        text = text.replace(sep, "\n")
    return [t.strip() for t in text.split("\n") if t.strip()]


def identifying(app: Application) -> list[str]:
    """Strings that would tell a blind reviewer who the applicant is, longest first, so that
    they are masked even where the applicant typed them into a free-text field."""
    user = app.applicant
    found = {user.name, (app.basic or {}).get("name") or "", user.mobile or "",
             user.id_number_masked or "", app.employer.name if app.employer else ""}
    for e in app.entries:
        found.add(str(e.data.get("org_name") or ""))
        for key in ("coauthors", "members"):
            found.update(_split_names(str(e.data.get(key) or "")))
    return sorted((s for s in found if len(s) >= 2), key=len, reverse=True)


def _redact(value, hidden: list[str]) -> str:
    text = "" if value is None else str(value)
    for s in hidden:
        text = text.replace(s, REDACTED)
    return text


def attachments(cfg, item: SessionItem, blind: bool) -> list[tuple[Attachment, str]]:
    """The scans this expert may open, each with the name it downloads under. Blind: never a
    blind_hidden material (ID card, stamped letters…), and a neutral name
    <code>-<material>-<n>.<ext> instead of the name it was uploaded under."""
    out, counts = [], {}
    for att in item.application.attachments:
        material = cfg.material(att.material)
        if not blind:
            out.append((att, att.filename))
            continue
        if material is None or material.blind_hidden:
            continue
        counts[att.material] = counts.get(att.material, 0) + 1
        ext = ALLOWED.get(att.mime, "bin")
        out.append((att, f"{item.code}-{att.material}-{counts[att.material]}.{ext}"))
    return out


def dossier(cfg, item: SessionItem, blind: bool) -> Dossier:
    app = item.application
    basic = app.basic or {}
    hidden = identifying(app) if blind else []
    birth = str(basic.get("birth_date") or "")
    shown = {"gender": basic.get("gender") or "", "birth_year": birth[:4],
             "current_title": _redact(basic.get("current_title"), hidden)}
    applicant = None
    if not blind:
        shown["birth_date"] = birth
        applicant = {"name": app.applicant.name, "id_number": app.applicant.id_number_masked,
                     "id_label": document_label(app.applicant),
                     "mobile": app.applicant.mobile_masked,
                     "employer": label(app.employer)}
    out = Dossier(code=item.code, blind=blind, applicant=applicant, basic=shown,
                  attachments=attachments(cfg, item, blind))
    for section, fields in SECTION_FIELDS.items():
        keys = BLIND_FIELDS.get(section, ()) if blind else tuple(f[0] for f in fields)
        columns = [(k, lbl) for k, lbl, _req in fields if k in keys]
        rows = [[_redact(entry_text(k, e.data.get(k)), hidden) for k, _ in columns]
                for e in app.entries if e.section == section]
        if rows and columns:
            out.sections.append((SECTION_TITLES[section], [lbl for _, lbl in columns], rows))
    return out


def item_of(session: ReviewSession, item_id: int) -> SessionItem | None:
    return next((i for i in session.items if i.id == item_id), None)


def attachment_of(cfg, item: SessionItem, att_id: int, blind: bool):
    """(scan, download name) when this expert may open it, else None."""
    return next(((a, n) for a, n in attachments(cfg, item, blind) if a.id == att_id), None)
