"""An applicant's own application: create, save sections, upload scans. Submission and every
later move go through transitions.transition()."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    OPEN_FOR_EDIT, Application, Attachment, Committee, Entry, Org, OrgStatus, PartialUpload, Plan,
    Section, Status, User,
)
from ..tenancy.schema import PolicyKind
from .. import uploads
from ..tenancy import label as item_label
from . import freelance, policies, unit_scope
from .actors import Actor
from .calendar import now_local
from .errors import Forbidden, Invalid
from .eligibility import exam_replaces_review
from .integrity import active_record, barred_message
from .profiles import needs_verification
from .transitions import _refuse_closed, audit, office_stage_for

# Fields of each list section: (key, label, required).
SECTION_FIELDS: dict[str, list[tuple[str, object, bool]]] = {
    Section.education.value: [("school", _l("毕业院校"), True), ("major", _l("专业"), True),
                              ("degree", _l("学历学位"), True), ("graduated_on", _l("毕业日期"), True),
                              ("edu_level", _l("学历层次"), False)],
    Section.work.value: [("org_name", _l("工作单位"), True), ("position", _l("岗位/职务"), True),
                         ("start", _l("起始日期"), True), ("end", _l("结束日期（在职可空）"), False),
                         ("place", _l("工作地域"), False)],
    Section.papers.value: [("title", _l("论文题目"), True), ("journal", _l("刊物/出版社"), True),
                           ("year", _l("年份"), True), ("coauthors", _l("合作者"), False)],
    Section.awards.value: [("name", _l("奖项名称"), True), ("grade", _l("等级/排名"), True),
                           ("year", _l("年份"), True)],
    Section.patents.value: [("title", _l("专利名称"), True), ("number", _l("专利号"), True),
                            ("year", _l("年份"), True)],
    Section.projects.value: [("name", _l("项目名称"), True), ("role", _l("本人角色"), True),
                             ("year", _l("年份"), True), ("members", _l("项目成员"), False)],
}
SECTION_TITLES = {
    Section.education.value: _l("学历"), Section.work.value: _l("工作经历"),
    Section.papers.value: _l("论文著作"), Section.awards.value: _l("获奖"),
    Section.patents.value: _l("专利"), Section.projects.value: _l("项目"),
}
DATE_FIELDS = {"graduated_on", "start", "end"}
# Fields chosen from a list (code → label), read by the preferential-policy rules (CF-POL-2…5).
FIELD_CHOICES = {"edu_level": policies.EDUCATION_LABELS, "place": policies.PLACE_LABELS}
MAX_FIELD = 200


# Policy kinds that read where each job was held (工作地域: 苏木乡镇/嘎查村, 旗县区...).
_PLACE_KINDS = {PolicyKind.long_service, PolicyKind.township_graduate,
                PolicyKind.township_service, PolicyKind.non_public}
# Fields every tenant's form carries; the others appear only where `form_fields` says.
OPTIONAL_FIELDS = {"poge", "poge_recommenders", "intl_qualification", "classified",
                   "exam_passed", "exam_year", "policy", "current_level", "title_on",
                   "township_months", "township_years", "place", "edu_level"}


def form_fields(cfg) -> frozenset[str]:
    """The optional fields of the application form this tenant's data asks for: 破格 where it
    admits exceptional applications, international qualifications where it lists some, 涉密
    where classified personnel are reviewed in a mode of their own, the exam year where a
    passing score expires (the 'passed' tick where it does not), the work place and education
    level where a preferential policy reads them."""
    pol = cfg.policies
    kinds = {r.kind for r in pol.policy}
    out = set()
    if pol.poge is not None:
        out |= {"poge", "poge_recommenders"}
    if pol.international_qualification or pol.professional_qualification:
        out.add("intl_qualification")
    if pol.classified_review_mode is not None:
        out.add("classified")
    if any(r.valid_years is None for r in pol.exam_required):
        out.add("exam_passed")
    if any(r.valid_years is not None for r in pol.exam_required):
        out.add("exam_year")
    if pol.policy:
        out.add("policy")
    if pol.progression is not None or pol.policy:
        out |= {"current_level", "title_on"}
    if PolicyKind.township_service in kinds:
        out |= {"township_months", "township_years"}
    if kinds & _PLACE_KINDS:
        out.add("place")
    if any(r.tracks for r in pol.policy):
        out.add("edu_level")
    return frozenset(out)


def section_fields(cfg) -> dict[str, list[tuple[str, object, bool]]]:
    """SECTION_FIELDS without the optional fields this tenant's data does not ask for."""
    asked = form_fields(cfg)
    return {section: [f for f in fields if f[0] not in OPTIONAL_FIELDS or f[0] in asked]
            for section, fields in SECTION_FIELDS.items()}


def entry_text(key: str, value) -> str:
    """An entry field as the reader sees it: a listed choice by its label."""
    choices = FIELD_CHOICES.get(key)
    return str(choices.get(value, value)) if choices and value else (value or "")


def own_application(tenant_id: int, user: User, app_id: int) -> Application | None:
    return db.session.scalar(sa.select(Application).filter_by(
        id=app_id, tenant_id=tenant_id, applicant_id=user.id))


def _editable(cfg, app: Application, actor: Actor) -> None:
    if actor.user_id != app.applicant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if app.status not in OPEN_FOR_EDIT:
        raise Invalid(_l("申报已提交，不能再修改。"))
    now = now_local()
    stage = "apply" if app.status == Status.draft.value else office_stage_for(app)
    _refuse_closed(app.plan, stage, now)
    if app.correction_due and now.date() > app.correction_due:
        raise Invalid(_l("补正期限已于%(d)s 24:00截止，不再受理。", d=app.correction_due.isoformat()))


def open_plans(tenant_id: int, user: User | None = None) -> list[Plan]:
    """Plans open for applications; a self-review unit's own plan only to its staff once the
    unit opened it (seed 002 第九条)."""
    now = now_local()
    plans = db.session.scalars(sa.select(Plan).filter_by(tenant_id=tenant_id)
                               .order_by(Plan.is_demo.desc(), Plan.year.desc(), Plan.id)).all()
    from .calendar import window_is_open
    from .self_review_run import offered_plan_ids
    mine = offered_plan_ids(tenant_id, user) if any(p.owner_org_id for p in plans) else set()
    return [p for p in plans if window_is_open(p.window("apply"), now)
            and (p.owner_org_id is None or p.id in mine)]


def create_application(cfg, actor: Actor, user: User, *, plan_id: int, committee_id: int,
                       series: str, level: str, specialty: str | None,
                       now: datetime | None = None) -> Application:
    """A new draft, inside the plan's apply window (CF-WIN-1); one per plan per person, and where
    the tenant says so one per level and year across plans (CF-ONE-1, CF-PLAN-1); none while the
    person has a running integrity record (BJ-INTEG-1, CF-INTEG-1) or, where the tenant requires
    it, an unverified profile (CF-REG-1); none for titles filled by examination (CF-EXAM-1)."""
    now = now_local(now)
    record = active_record(actor.tenant_id, user, now.date())
    if record is not None:
        raise Invalid(barred_message(record))
    if needs_verification(cfg, user):
        raise Invalid(_l("您的个人基本信息、学历和工作经历尚未经所在单位审核通过，暂不能申报。"
                         "请联系单位经办人审核。"))
    plan = db.session.scalar(sa.select(Plan).filter_by(id=plan_id, tenant_id=actor.tenant_id))
    committee = db.session.scalar(sa.select(Committee).filter_by(
        id=committee_id, tenant_id=actor.tenant_id))
    if plan is None or committee is None:
        raise Invalid(_l("请选择申报计划和评审委员会。"))
    if committee.agency is None or committee.agency.closed_on is not None:
        raise Invalid(_l("该评审委员会的办事机构已撤销，请选择其他评审委员会。"))
    _refuse_closed(plan, "apply", now)
    if cfg.series(series) is None or cfg.level(level) is None:
        raise Invalid(_l("请选择系列和级别。"))
    if specialty and cfg.specialty(series, specialty) is None:
        raise Invalid(_l("所选专业不属于该系列。"))
    if level not in cfg.series(series).levels:
        raise Invalid(_l("该系列没有此级别。"))
    _refuse_outside_unit_scope(cfg, actor, user, committee, series, level)  # SR-SCOPE-1
    if level not in plan.levels:
        raise Invalid(_l("本计划不受理该级别。"))
    if exam_replaces_review(cfg, series, level):
        raise Invalid(_l("该系列（专业）此级别实行以考代评，不再进行评审。"))
    from .directory import refusal as directory_refusal
    from .self_review_run import plan_refusal
    outside = (plan_refusal(plan, committee, series, level, user) if plan.owner_org_id
               else directory_refusal(cfg, plan, committee, series, level, specialty))  # BJ-DIR-1
    if outside is not None:
        raise Invalid(outside)
    taken = db.session.scalar(sa.select(Application.id).where(
        Application.applicant_id == user.id, Application.plan_id == plan.id,
        Application.status != Status.abandoned.value))
    if taken:
        raise Invalid(_l("您已在本计划中有一份申报，不能重复申报。"))
    if cfg.policies.one_series_per_level_year:
        _refuse_second_of_level_year(user, plan, level)
    if user.person_type == "freelancer":
        employer_id, association_id = None, user.association_org_id
    else:
        employer = db.session.get(Org, user.org_id) if user.org_id else None
        if employer is None or employer.status != OrgStatus.approved.value:
            raise Invalid(_l("您的单位尚未通过人社部门审核，暂不能申报。"))
        employer_id, association_id = employer.id, None
    app = Application(tenant_id=actor.tenant_id, applicant_id=user.id, plan_id=plan.id,
                      committee_id=committee.id, series=series, level=level,
                      specialty=specialty or None, person_type=user.person_type or "professional",
                      employer_org_id=employer_id, association_org_id=association_id,
                      basic={"name": user.name},
                      # A plan of a separately listed quota takes only its policy (CF-POL-1).
                      policy=policies.reserved_policy(cfg, plan.code))
    db.session.add(app)
    db.session.flush()
    audit(actor, "applications", app.id, "create", to_state=Status.draft.value, now=now)
    # Nothing typed twice: the sections start from the person's profile.
    from .profile_items import import_entries_once, prefill
    import_entries_once(actor, user, now)
    prefill(app, user)
    db.session.commit()
    return app


def _refuse_outside_unit_scope(cfg, actor: Actor, user: User, committee: Committee,
                              series: str, level: str) -> None:
    """A self-review unit's committee takes only the unit's own staff, in the series and levels
    approved for it; a refusal is kept for the city HR bureau (SR-SCOPE-1, SR-SUPERV-1)."""
    unit_scope.check_creation(cfg, actor, user, committee, series, level)


def _refuse_second_of_level_year(user: User, plan: Plan, level: str) -> None:
    """Any earlier application of this person at this level in a plan of the same year, in any
    series, whatever became of it: the chosen plan is final (CF-ONE-1, CF-PLAN-1)."""
    other = db.session.scalar(
        sa.select(Application).join(Plan, Application.plan_id == Plan.id).where(
            Application.applicant_id == user.id, Application.level == level,
            Plan.year == plan.year, Plan.tenant_id == plan.tenant_id).limit(1))
    if other is not None:
        raise Invalid(_l("同一年度同一级别只能申报一个系列（专业）的一份申报；您已在“%(p)s”中申报，"
                         "申报计划选定后不能修改或新增。", p=item_label(other.plan)))


def save_basic(cfg, app: Application, actor: Actor, data: dict) -> None:
    _editable(cfg, app, actor)
    # Fields the tenant's form does not ask for are not taken from the request.
    asked = form_fields(cfg)
    data = {k: v for k, v in data.items() if k not in OPTIONAL_FIELDS or k in asked}
    exam_year = data.get("exam_year")
    if exam_year and not 1990 <= int(exam_year) <= 2100:
        raise Invalid(_l("考试合格年份应为四位年份。"))
    qual = data.get("intl_qualification") or None
    if qual and cfg.qualification(qual) is None:
        raise Invalid(_l("请从列表中选择职业资格。"))
    if data.get("gender") not in ("", None, "male", "female"):
        raise Invalid(_l("请选择性别。"))
    policy = data.get("policy") or None
    if policy not in policies.allowed(cfg, app.plan.code):
        raise Invalid(_l("请从列表中选择申报政策。"))
    current_level = data.get("current_level") or ""
    if current_level and cfg.level(current_level) is None:
        raise Invalid(_l("请从列表中选择现职称级别。"))
    months, years = data.get("township_months"), data.get("township_years")
    if not (0 <= (months or 0) <= 12 and 0 <= (years or 0) <= 60):
        raise Invalid(_l("服务苏木乡镇、嘎查村的月数应在0至12之间，年限应在0至60之间。"))
    app.basic = {**(app.basic or {}), "gender": data.get("gender") or "",
                 "birth_date": data["birth_date"].isoformat() if data.get("birth_date") else "",
                 "current_title": (data.get("current_title") or "").strip()[:MAX_FIELD],
                 # Names of the 正高 peers who signed the 破格 forms: they may not review it.
                 "poge_recommenders": (data.get("poge_recommenders") or "").strip()[:MAX_FIELD],
                 # The year the passing score of an exam-plus-review title was earned (CF-EXAM-1).
                 "exam_year": int(exam_year) if exam_year else None,
                 # Classified personnel are reviewed offline on paper only (CF-MODE-1).
                 "classified": bool(data.get("classified")),
                 # Rank by rank (逐级申报) and the township-service policy (CF-POL-4).
                 "current_level": current_level,
                 "title_on": data["title_on"].isoformat() if data.get("title_on") else "",
                 "township_months": months, "township_years": years,
                 **freelance.basic_fields(cfg, app, data),  # BJ-SCOPE-3
                 **unit_scope.basic_fields(cfg, app, data)}  # SR-SCOPE-1
    app.policy = policy
    app.poge = bool(data.get("poge"))
    app.exam_passed = bool(data.get("exam_passed"))
    app.intl_qualification = qual
    db.session.commit()


def add_entry(cfg, app: Application, actor: Actor, section: str, form: dict) -> Entry:
    """Validate every field first; on any problem nothing is saved."""
    _editable(cfg, app, actor)
    fields = section_fields(cfg).get(section)
    if fields is None:
        raise Invalid(_l("未知的栏目。"))
    entry = Entry(application_id=app.id, section=section, data=clean_fields(fields, form))
    db.session.add(entry)
    db.session.commit()
    return entry


def clean_fields(fields: list[tuple[str, object, bool]], form: dict) -> dict:
    """The fields of one row as entered, trimmed; raises Invalid listing every problem."""
    data, problems = {}, []
    for key, label, required in fields:
        value = (form.get(key) or "").strip()
        if required and not value:
            problems.append(_l("请填写：%(f)s", f=label))
        elif len(value) > MAX_FIELD:
            problems.append(_l("%(f)s过长（最多%(n)d字）", f=label, n=MAX_FIELD))
        elif value and key in DATE_FIELDS:
            try:
                date.fromisoformat(value)
            except ValueError:
                problems.append(_l("%(f)s格式应为年-月-日，如2020-07-01", f=label))
        elif value and key == "year" and not (value.isdigit() and 1950 <= int(value) <= 2100):
            problems.append(_l("%(f)s应为四位年份", f=label))
        elif value and key in FIELD_CHOICES and value not in FIELD_CHOICES[key]:
            problems.append(_l("请从列表中选择：%(f)s", f=label))
        data[key] = value
    if problems:
        raise Invalid(_l("未保存，请修改以下内容："), problems=problems)
    return data


def delete_entry(cfg, app: Application, actor: Actor, entry_id: int) -> None:
    _editable(cfg, app, actor)
    entry = db.session.scalar(sa.select(Entry).filter_by(id=entry_id, application_id=app.id))
    if entry is not None:
        db.session.delete(entry)
        db.session.commit()


MB = 1024 * 1024


def material_limit(cfg, material) -> int:
    """The most bytes one scan of `material` may have: the checklist's max_mb, capped by the
    deployment's MAX_UPLOAD_BYTES (the default when the checklist sets none)."""
    most = current_app.config["MAX_UPLOAD_BYTES"]
    return min(most, material.max_mb * MB) if material.max_mb else most


def stored_bytes(user_id: int, *, besides: int | None = None) -> int:
    """What the applicant keeps stored: their scans on every application, and the full length
    of every upload still being sent (its room is held from the start). `besides`: a partial
    upload left out (the one being finished)."""
    scans = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Attachment.size), 0))
        .join(Application, Attachment.application_id == Application.id)
        .where(Application.applicant_id == user_id))
    pending = sa.select(sa.func.coalesce(sa.func.sum(PartialUpload.length), 0)).where(
        PartialUpload.owner_id == user_id, PartialUpload.attachment_id.is_(None))
    if besides is not None:
        pending = pending.where(PartialUpload.id != besides)
    return int(scans) + int(db.session.scalar(pending))


def upload_room(cfg, app: Application, user_id: int) -> dict:
    """Shown before an upload starts: the applicant's remaining quota and, per material, the
    size limit and how many more scans it takes (None: no count limit)."""
    left = max(0, current_app.config["UPLOAD_QUOTA_BYTES"] - stored_bytes(user_id))
    counts = _material_counts(app)
    return {"left": left, "limited": [m.code for m in cfg.checklist.material
                                       if m.max_count is not None or m.max_mb is not None],
            "materials": {
        m.code: {"limit": material_limit(cfg, m),
                 "more": None if m.max_count is None else max(0, m.max_count - counts.get(m.code, 0))}
        for m in cfg.checklist.material}}


def _material_counts(app: Application, *, besides: int | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in app.attachments:
        counts[a.material] = counts.get(a.material, 0) + 1
    pending = sa.select(PartialUpload.material).where(
        PartialUpload.application_id == app.id, PartialUpload.attachment_id.is_(None))
    if besides is not None:
        pending = pending.where(PartialUpload.id != besides)
    for code in db.session.scalars(pending):
        counts[code] = counts.get(code, 0) + 1
    return counts


def check_room(cfg, app: Application, actor: Actor, material: str, size: int, *,
               besides: int | None = None):
    """Refuse a scan of `size` bytes before any of it is stored: the application open for
    edits, a known material, within its size and count limits and the applicant's quota.
    Return the material."""
    from ..web import filesize  # the page's own way of writing sizes
    _editable(cfg, app, actor)
    kind = cfg.material(material)
    if kind is None:
        raise Invalid(_l("请选择材料类型。"))
    if size <= 0:
        raise Invalid(_l("请选择要上传的文件。"))
    limit = material_limit(cfg, kind)
    if size > limit:
        raise Invalid(_l("“%(m)s”每份不超过%(limit)s，此文件为%(size)s，请压缩后再上传。",
                         m=item_label(kind), limit=filesize(limit), size=filesize(size)))
    _refuse_over(kind, size, _material_counts(app, besides=besides).get(kind.code, 0),
                 stored_bytes(app.applicant_id, besides=besides))
    return kind


def _refuse_over(kind, size: int, held: int, stored: int) -> None:
    """The count and quota limits for one more scan of `size` bytes, with `held` scans of its
    material and `stored` bytes of the applicant's already counted."""
    from ..web import filesize
    if kind.max_count is not None and held >= kind.max_count:
        raise Invalid(_l("“%(m)s”最多上传%(n)d份，请先删除已上传的再上传。",
                         m=item_label(kind), n=kind.max_count))
    left = current_app.config["UPLOAD_QUOTA_BYTES"] - stored
    if size > left:
        raise Invalid(_l("上传空间不足：剩余%(left)s，此文件为%(size)s。请删除不需要的扫描件后再上传。",
                         left=filesize(max(0, left)), size=filesize(size)))


def hold_room(cfg, app: Application, material: str, size: int) -> None:
    """Check the limits again once the new scan (or upload being sent) of `size` bytes is
    flushed, so two sent at once cannot both take the last place: the applicant's row is
    locked until the commit (PostgreSQL), and on SQLite the flushed row holds the only writer's
    lock, so the other waits and then counts this one. Invalid when they no longer hold."""
    kind = cfg.material(material)
    db.session.execute(sa.select(User.id).where(User.id == app.applicant_id).with_for_update())
    held = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.application_id == app.id, Attachment.material == material)) + \
        db.session.scalar(sa.select(sa.func.count()).select_from(PartialUpload).where(
            PartialUpload.application_id == app.id, PartialUpload.material == material,
            PartialUpload.attachment_id.is_(None)))
    _refuse_over(kind, size, held - 1, stored_bytes(app.applicant_id) - size)


def add_attachment(cfg, app: Application, actor: Actor, material: str, filename: str,
                   data: bytes) -> Attachment:
    _editable(cfg, app, actor)  # before any of the bytes is looked at
    data, mime = uploads.accept_scan(data, cfg)  # a PDF is stored rebuilt without active content
    # The limits count what is stored: a phone photo sent whole (no JavaScript) is scaled down
    # first, so it is not refused for the size it had on the phone.
    check_room(cfg, app, actor, material, len(data))
    stored, digest = uploads.store(cfg.slug, data, mime)
    return _attach(cfg, app, actor, material, filename, stored, mime, len(data), digest)


def attach_file(cfg, app: Application, actor: Actor, upload: PartialUpload, path) -> Attachment:
    """Attach a finished resumable upload whose bytes are in `path` (checked and stored as
    add_attachment does, read from disk piece by piece); the upload's room is its own."""
    check_room(cfg, app, actor, upload.material, upload.length, besides=upload.id)
    stored, mime, size, digest = uploads.accept_scan_file(cfg.slug, path, cfg)
    return _attach(cfg, app, actor, upload.material, upload.filename, stored, mime, size, digest,
                   upload=upload)


def _attach(cfg, app, actor, material, filename, stored, mime, size, digest,
            upload: PartialUpload | None = None) -> Attachment:
    try:
        att = Attachment(application_id=app.id, material=material, filename=filename[:200] or "scan",
                         stored_name=stored, mime=mime, size=size, sha256=digest,
                         uploaded_by=actor.user_id)
        db.session.add(att)
        db.session.flush()
        if upload is not None:
            upload.attachment_id = att.id
            db.session.flush()
        hold_room(cfg, app, material, size)
        audit(actor, "attachments", att.id, "upload", reason=material)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.remove(cfg.slug, stored)  # leave nothing half-saved
        raise
    return att


def delete_attachment(cfg, app: Application, actor: Actor, att_id: int) -> None:
    _editable(cfg, app, actor)
    att = db.session.scalar(sa.select(Attachment).filter_by(id=att_id, application_id=app.id))
    if att is not None:
        stored = att.stored_name
        db.session.delete(att)
        audit(actor, "attachments", att_id, "delete", reason=att.material)
        db.session.commit()
        uploads.remove(cfg.slug, stored)
