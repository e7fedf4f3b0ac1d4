"""The applicant's own profile (业绩档案): add, correct and remove items, each with its
evidence; bring the latest application's entries in once for people who applied before
profiles existed; start every new application from the profile."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .. import uploads
from ..extensions import db
from ..models import (
    Application, AuditEvent, Entry, ItemState, ProfileItem, ProfileKind, Role, Section, User,
)
from .actors import Actor
from .applications import SECTION_TITLES, clean_fields, section_fields
from .errors import Conflict, Forbidden, Invalid
from .transitions import audit

QUALIFICATION_FIELDS = [("name", _l("资格名称"), True), ("number", _l("证书编号"), False),
                        ("year", _l("取得年份"), True), ("issuer", _l("发证机关"), False)]
# What proves the item: the certificate, diploma, contract or letter, by name, number and issuer.
EVIDENCE = ("evidence", _l("证明材料（名称、编号、出具单位）"), True)
KIND_TITLES = {**SECTION_TITLES, ProfileKind.qualification.value: _l("职业资格")}
# The page's order: who the person is (education, work, qualifications), then achievements.
KINDS = [k.value for k in (ProfileKind.education, ProfileKind.work, ProfileKind.qualification,
                           ProfileKind.papers, ProfileKind.awards, ProfileKind.patents,
                           ProfileKind.projects)]
ACHIEVEMENTS = (ProfileKind.papers.value, ProfileKind.awards.value, ProfileKind.patents.value,
                ProfileKind.projects.value)
SECTIONS = {s.value for s in Section}
IMPORTED = "import_profile"
# An uploaded scan of the evidence: (file name, bytes).
Scan = tuple[str, bytes]


def kind_fields(cfg) -> dict[str, list[tuple[str, object, bool]]]:
    """The fields of each kind of item as this tenant's form asks for them (the application's
    sections, and qualifications), without the evidence."""
    by_section = section_fields(cfg)
    return {k: QUALIFICATION_FIELDS if k == ProfileKind.qualification.value else by_section[k]
            for k in KINDS}


def items_of(user: User) -> list[ProfileItem]:
    """The person's items in the order they were added, with who checked each."""
    return list(db.session.scalars(
        sa.select(ProfileItem).filter_by(tenant_id=user.tenant_id, user_id=user.id)
        .options(selectinload(ProfileItem.checker)).order_by(ProfileItem.id)))


def by_kind(items: list[ProfileItem]) -> dict[str, list[ProfileItem]]:
    return {k: [i for i in items if i.kind == k] for k in KINDS}


def own_item(actor: Actor, item_id: int) -> ProfileItem | None:
    return db.session.scalar(sa.select(ProfileItem).filter_by(
        id=item_id, tenant_id=actor.tenant_id, user_id=actor.user_id))


def _clean(cfg, kind: str, form) -> dict:
    fields = kind_fields(cfg).get(kind)
    if fields is None:
        raise Invalid(_l("未知的栏目。"))
    return clean_fields([*fields, EVIDENCE], form)


def _checked(scan: Scan | None) -> tuple[str, bytes, str] | None:
    """(file name, bytes to store, MIME type) of a scan that passed the content checks."""
    if scan is None:
        return None
    data, mime = uploads.accept_scan(scan[1])  # refused before anything is stored
    return (scan[0] or "scan")[:200], data, mime


def _save(cfg, item: ProfileItem, scan: tuple[str, bytes, str] | None, write) -> None:
    """Store the scan, set it on the item, then `write()` the rows and commit; on any failure
    nothing is kept, neither the rows nor the file. The scan it replaces is removed after."""
    old, new = item.scan_stored, None
    try:
        if scan is not None:
            name, data, mime = scan
            new, digest = uploads.store(cfg.slug, data, mime)
            item.scan_stored, item.scan_filename, item.scan_mime = new, name, mime
            item.scan_size, item.scan_sha256 = len(data), digest
        write()
        db.session.commit()
    except Exception:
        db.session.rollback()
        if new is not None:
            uploads.remove(cfg.slug, new)
        raise
    if new is not None and old:
        uploads.remove(cfg.slug, old)


def add_item(cfg, actor: Actor, user: User, kind: str, form, scan: Scan | None = None
             ) -> ProfileItem:
    """A new item, waiting for the employer's check; on any problem nothing is saved."""
    if actor.user_id != user.id:
        raise Forbidden(_l("无权进行此操作。"))
    data, checked = _clean(cfg, kind, form), _checked(scan)
    item = ProfileItem(tenant_id=user.tenant_id, user_id=user.id, kind=kind,
                       state=ItemState.unverified.value, version=1)
    item.data = data

    def write():
        db.session.add(item)
        db.session.flush()
        audit(actor, "profile_items", item.id, "create", reason=kind,
              to_state=ItemState.unverified.value)
    _save(cfg, item, checked, write)
    return item


def _current(item: ProfileItem, version: int | None) -> None:
    if version != item.version:
        raise Conflict(_l("该条目已在别处修改，请刷新页面后再操作。"))


def update_item(cfg, actor: Actor, item: ProfileItem, version: int | None, form,
                scan: Scan | None = None) -> ProfileItem:
    """Correct an item or replace its scan. A changed item is no longer verified: the employer
    checks it again."""
    if actor.user_id != item.user_id:
        raise Forbidden(_l("无权进行此操作。"))
    _current(item, version)
    data, checked = _clean(cfg, item.kind, form), _checked(scan)
    if data == item.data and checked is None:
        return item
    before = item.state

    def write():
        item.data = data
        item.version += 1
        item.state, item.checked_by, item.checked_at, item.reject_reason = (
            ItemState.unverified.value, None, None, None)
        audit(actor, "profile_items", item.id, "update", reason=item.kind, from_state=before,
              to_state=item.state)
    _save(cfg, item, checked, write)
    return item


def delete_item(cfg, actor: Actor, item: ProfileItem, version: int | None) -> None:
    """Remove an item and its scan; applications that took it keep their copy of the row."""
    if actor.user_id != item.user_id:
        raise Forbidden(_l("无权进行此操作。"))
    _current(item, version)
    stored = item.scan_stored
    db.session.execute(sa.update(Entry).where(Entry.profile_item_id == item.id)
                       .values(profile_item_id=None))
    audit(actor, "profile_items", item.id, "delete", reason=item.kind, from_state=item.state)
    db.session.delete(item)
    db.session.commit()
    if stored:
        uploads.remove(cfg.slug, stored)


def import_entries_once(actor: Actor, user: User, now: datetime | None = None) -> int:
    """A person who applied before profiles existed has entries only in applications: the
    latest application's rows become the profile's items, once, unverified (nobody checked
    them one by one). Does not commit; returns how many items were made."""
    if db.session.scalar(sa.select(ProfileItem.id).filter_by(user_id=user.id).limit(1)):
        return 0
    if db.session.scalar(sa.select(AuditEvent.id).filter_by(
            tenant_id=user.tenant_id, subject_type="users", subject_id=user.id,
            action=IMPORTED).limit(1)):
        return 0
    latest = db.session.scalar(
        sa.select(Application).where(
            Application.applicant_id == user.id,
            sa.exists().where(Entry.application_id == Application.id,
                              Entry.section.in_(SECTIONS)))
        .order_by(Application.created_at.desc(), Application.id.desc()).limit(1))
    if latest is None:
        return 0
    rows = [e for e in latest.entries if e.section in SECTIONS]
    for e in rows:
        item = ProfileItem(tenant_id=user.tenant_id, user_id=user.id, kind=e.section,
                           state=ItemState.unverified.value, version=1)
        item.data = {**e.data, "evidence": e.data.get("evidence", "")}
        db.session.add(item)
        db.session.flush()
        e.profile_item_id = item.id
    # Records are kept in the default language (zh-CN), whoever acts.
    audit(actor, "users", user.id, IMPORTED, reason=f"从申报带入业绩档案{len(rows)}条",
          now=now)
    return len(rows)


def profile_of(actor: Actor, user: User) -> list[ProfileItem]:
    """The person's items, after bringing in an earlier application's entries once."""
    if import_entries_once(actor, user):
        db.session.commit()
    return items_of(user)


def prefill(app: Application, user: User) -> int:
    """Copy the profile's items into the new application's sections, each row linked to its
    item so the application shows whether the employer verified it; items the employer
    refused stay out until corrected. Does not commit."""
    rows = [i for i in items_of(user)
            if i.kind in SECTIONS and i.state != ItemState.rejected.value]
    for item in rows:
        data = {k: v for k, v in item.data.items() if k != "evidence"}
        db.session.add(Entry(application_id=app.id, section=item.kind, data=data,
                             profile_item_id=item.id))
    return len(rows)


def home_items(user: User, today) -> list[dict]:
    """For the applicant's home page: items of the profile the employer returned, to correct
    (one query)."""
    from .home import item
    if user.role != Role.applicant.value:
        return []
    n = db.session.scalar(sa.select(sa.func.count(ProfileItem.id)).filter_by(
        tenant_id=user.tenant_id, user_id=user.id, state=ItemState.rejected.value))
    return [item(_l("被单位退回、待修改的业绩档案条目"), n, None, "applicant.profile")] if n else []
