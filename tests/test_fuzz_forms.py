"""Property-based fuzzing of every form and htmx POST: random, oversized, control-character,
mixed-script and wrong-typed values (text for numbers and dates, lists for single values, fields
left out), sent by the role that may use the form, with a valid object, as a plain form post or
as htmx (which answers with a fragment). Never a server error;
never a half-saved record: a request either changes nothing (a refusal) or changes what it
should, completely (a state change bumps the version and writes its audit row; a saved value is
the value sent).

Every form also gets a NUL in each text field and in every field: control characters are refused
before a view runs (app/web_security.py), so a NUL never reaches PostgreSQL (which would answer
it with a server error)."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Callable

import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import (
    Application, Conflict, Entry, Expert, Org, ProfileItem, ReviewSession, Score,
)
from app.models.expert_pool import ExpertChange
from app.models.oversight import Complaint
from app.models.results import Objection
from app.models.self_review import SelfReviewApplication
from app.models.unit_runs import AcademicEntrustment
from app.models.self_review_run import SelfReviewSetup, SelfReviewYearPlan

from . import factories as f
from .conftest import PASSWORD, at
from .world import world_app

# Fewer on PostgreSQL, where each example costs more: it is run for what only PostgreSQL
# refuses (over-long values, NUL); the input space is walked on SQLite.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (
    12 if os.environ.get("TEST_DATABASE") == "postgres" else 25))
NUL_REFUSAL = "control characters refused in forms"

# -- values -----------------------------------------------------------------------------------

CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\u0085\u200b\u200e\u202e\u2028\ufeff"
MIXED = ("中文姓名张伟赵钱孙李鄂尔多斯乌兰察布ÀéßŁЖжΩ한국어ひらがなカタカナ"
         "\u0301\u0308\u20dd😀👩‍💻🇨🇳𠀀𪚥")
ODD = ["", " ", "\t", "0", "-1", "1.5", "1e309", "NaN", "99999999999999999999999", "0x1A",
       "２０２６", "2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "2026/07/01",
       "2026-07-01T25:61", "[]", "{}", "null", "None", "true", "<script>alert(1)</script>",
       "' OR 1=1 --", "%s%n", "../../etc/passwd", "=HYPERLINK(\"http://x\")", "@SUM(1)"]


def text_values(length: int = 200) -> st.SearchStrategy[str]:
    """One form value: random unicode, control characters, mixed scripts and combining marks,
    about ten times the column's length, or a wrong-typed or odd literal."""
    return st.one_of(
        st.text(max_size=30),
        st.text(alphabet=st.sampled_from(CONTROL + MIXED + "ab 1-"), max_size=40),
        st.integers(min_value=length + 1, max_value=10 * length).flatmap(
            lambda n: st.sampled_from(["长", "x", "😀", "é"]).map(lambda c: c * n)),
        st.sampled_from(ODD),
    )


MISSING = object()


def form_values(fields: dict[str, int | st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """A whole form: each field a value, a list of values, or left out. A field's entry is its
    column length or a strategy of its own (valid choices mixed with odd values)."""
    def one(spec):
        base = spec if isinstance(spec, st.SearchStrategy) else text_values(spec)
        return st.one_of(base, base, st.lists(base, min_size=2, max_size=3), st.just(MISSING))
    return st.fixed_dictionaries({k: one(v) for k, v in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not MISSING})


VALID: dict[st.SearchStrategy, str] = {}  # a valid_or strategy → its first valid value


def valid_or(*values) -> st.SearchStrategy:
    """A valid choice (so some requests get past the form) or anything else."""
    strategy = st.one_of(st.sampled_from([str(v) for v in values]), text_values(40))
    VALID[strategy] = str(values[0])
    return strategy


# -- what is watched ---------------------------------------------------------------------------

def row_counts() -> dict[str, int]:
    tables = db.metadata.sorted_tables
    query = sa.union_all(*(sa.select(sa.literal(t.name).label("t"),
                                     sa.func.count().label("n")).select_from(t)
                           for t in tables))
    return dict(db.session.execute(query).all())


def state_of(model, obj_id) -> dict:
    obj = db.session.get(model, obj_id)
    if obj is None:
        return {}
    return {c.key: getattr(obj, c.key) for c in sa.inspect(model).column_attrs}


@dataclass
class Target:
    """One form: who posts it (a role's account in the world, or nobody), where, when, the
    fields, the objects whose state is watched, and what an accepted request must have saved."""
    user: str | None
    url: str
    fields: dict
    when: tuple = (2026, 12, 10, 10)
    watch: list = field(default_factory=list)      # [(Model, world id key)]
    saved: Callable | None = None                  # saved(data, before, after, ids) → problems
    files: tuple = ()                              # file fields: random bytes and names
    tenant: str = "beijing"
    must_accept: bool = False                      # some examples must get through and be saved
    example: dict | None = None                    # a valid form, always tried


def _first(value) -> str:
    return value[0] if isinstance(value, list) else value


def profile_item_saved(kind: str):
    """An accepted add made one item holding exactly the values sent (trimmed)."""
    def check(data, before, after, ids):
        with db.session.no_autoflush:
            row = db.session.scalar(sa.select(ProfileItem).filter_by(kind=kind)
                                    .order_by(ProfileItem.id.desc()).limit(1))
            got = row.data if row is not None else {}
        return [f"{k}: saved {got.get(k)!r}, sent {_first(v)!r}" for k, v in data.items()
                if k in got and got[k] != _first(v).strip()]
    return check


def entry_saved(section: str, keys: list[str]):
    def check(data, before, after, ids):
        with db.session.no_autoflush:
            row = db.session.scalar(sa.select(Entry).filter_by(
                application_id=ids["draft"], section=section).order_by(Entry.id.desc()))
        sent = {k: (_first(data.get(k, "")) or "").strip() for k in keys}
        return [] if row is not None and row.data == sent else [f"saved {row and row.data}, "
                                                                 f"sent {sent}"]
    return check


def conflict_saved(data, before, after, ids):
    row = db.session.scalar(sa.select(Conflict).order_by(Conflict.id.desc()))
    name = _first(data.get("expert_name", "")).strip()
    return [] if row is not None and row.expert_name.strip() == name else [
        f"saved {row and row.expert_name!r}, sent {name!r}"]


def basic_saved(data, before, after, ids):
    basic = after["app"]["basic"] or {}
    sent = (_first(data.get("current_title", "")) or "").strip()
    return [] if basic.get("current_title") == sent else [
        f"current_title saved {basic.get('current_title')!r}, sent {sent!r}"]


def score_saved(data, before, after, ids):
    row = db.session.scalar(sa.select(Score).filter_by(item_id=ids["item"])
                            .order_by(Score.at.desc()))
    sent = {k.removeprefix("score-"): int(_first(v)) for k, v in data.items()
            if k.startswith("score-")}
    return [] if row is not None and row.scores == sent else [f"saved {row and row.scores}, "
                                                              f"sent {sent}"]


def objection_saved(data, before, after, ids):
    row = db.session.scalar(sa.select(Objection).order_by(Objection.id.desc()))
    problems = []
    for k in ("target", "facts", "evidence", "lead"):
        sent = (_first(data.get(k, "")) or "").strip()[:4000]
        if getattr(row, k) != sent:
            problems.append(f"{k} saved {getattr(row, k)!r}, sent {sent!r}")
    return problems


def complaint_saved(data, before, after, ids):
    row = db.session.scalar(sa.select(Complaint).order_by(Complaint.id.desc()))
    problems = []
    for k in ("target", "facts", "evidence", "lead", "complainant"):
        sent = (_first(data.get(k, "")) or "").strip()
        if getattr(row, k) != sent:
            problems.append(f"{k} saved {getattr(row, k)!r}, sent {sent!r}")
    if row.status == "open" and (row.routed_org_id is None or row.due_on is None):
        problems.append("accepted without an office or a due day")
    return problems


def targets() -> dict[str, Target]:
    """Every form and htmx POST, with a valid object and the role that may use it."""
    scores = {"score-c1": 60, "score-c2": 40}
    return {
        "auth.login": Target(None, "/beijing/login", {"username": 60, "password": 200}),
        "public.display": Target(None, "/display", {"toggle": valid_or("large", "contrast"),
                                                     "next": valid_or("/beijing/login", "//x")}),
        "auth.password": Target("applicant", "/beijing/password",
                                {"current": 128, "new": 128, "new2": 128}),
        "auth.register": Target(None, "/beijing/register", {
            "name": 60, "id_type": valid_or("resident_id", "hmt_residence", "passport"),
            "id_number": valid_or(f.ID_NUMBERS[2]), "work_permit": valid_or("156011202300012345"),
            "mobile": valid_or("13912345678"),
            "person_type": valid_or("professional", "freelancer"), "employer": valid_or("@unit"),
            "association": 20, "password": valid_or(PASSWORD), "password2": valid_or(PASSWORD)}),
        "public.register_employer": Target(None, "/beijing/employers/register", {
            "name": 200, "uscc": valid_or(f.USCCS[9]), "district": valid_or("haidian"),
            "employer_kind": valid_or("state_owned", "non_public"), "clerk_name": 60,
            "clerk_mobile": valid_or("13912345678"), "password": valid_or(PASSWORD)}),
        "certify.query": Target(None, "/beijing/certificates/verify",
                                {"number": valid_or("@cert_number"), "name": 60}),
        "results.objection": Target(
            None, "/beijing/results/notices/{pub}/objections/{pub_app}",
            {"kind": valid_or("review", "material"), "complainant": 60, "contact": 60,
             "target": 200, "facts": 4000, "evidence": 4000, "lead": 4000},
            when=(2026, 11, 25, 10), saved=objection_saved, must_accept=True,
            example={"kind": "material", "complainant": "王某", "contact": "13000000000",
                     "target": "申报人 José", "facts": "论文代写😀", "evidence": "投稿记录",
                     "lead": "期刊编辑部"}),
        "applicant.new": Target("draft_applicant", "/beijing/me/applications/new", {
            "plan": valid_or("@plan"), "committee": valid_or("@committee"),
            "series": valid_or("engineering"), "specialty": valid_or("mechanical"),
            "level": valid_or("senior", "intermediate")}, when=(2026, 7, 8, 9)),
        "applicant.save_basic": Target(
            "draft_applicant", "/beijing/me/applications/{draft}/basic", {
                "gender": valid_or("male", "female"), "birth_date": valid_or("1985-06-15"),
                "current_title": 200, "poge": valid_or("y"), "poge_recommenders": 200,
                "exam_passed": valid_or("y"), "exam_year": valid_or(2025),
                "intl_qualification": 40, "classified": valid_or("y"), "policy": 40,
                "current_level": valid_or("intermediate"), "title_on": valid_or("2015-07-01"),
                "township_months": valid_or(3), "township_years": valid_or(2),
                "freelance_field": valid_or("fine_art"), "freelance_since": valid_or("2020-03-01")},
            when=(2026, 7, 8, 9), watch=[(Application, "draft")], saved=basic_saved,
            must_accept=True, example={"gender": "female", "current_title": "工程师 Ingénieur😀"}),
        "applicant.add_entry (papers)": Target(
            "draft_applicant", "/beijing/me/applications/{draft}/entries/papers",
            {"title": 200, "journal": 200, "year": valid_or(2023), "coauthors": 200},
            when=(2026, 7, 8, 9), watch=[(Application, "draft")],
            saved=entry_saved("papers", ["title", "journal", "year", "coauthors"]),
            must_accept=True, example={"title": "装配式混凝土框架节点😀e\u0301 RTL",
                                       "journal": "建筑结构 Ωмир", "year": "2023",
                                       "coauthors": "李明, José Núñez, 👩\u200d💻"}),
        "applicant.add_entry (work)": Target(
            "draft_applicant", "/beijing/me/applications/{draft}/entries/work",
            {"org_name": 200, "position": 200, "start": valid_or("2010-08-01"),
             "end": valid_or("", "2020-01-01"), "place": valid_or("township", "")},
            when=(2026, 7, 8, 9), watch=[(Application, "draft")],
            # Beijing's data reads no work place (工作地域): a posted one is not kept.
            saved=entry_saved("work", ["org_name", "position", "start", "end"])),
        "applicant.add_entry (unknown section)": Target(
            "draft_applicant", "/beijing/me/applications/{draft}/entries/%E2%80%AEx",
            {"title": 200}, when=(2026, 7, 8, 9), watch=[(Application, "draft")]),
        "applicant.upload": Target(
            "draft_applicant", "/beijing/me/applications/{draft}/attachments",
            {"material": valid_or("id_card", "diploma")}, when=(2026, 7, 8, 9),
            watch=[(Application, "draft")], files=("scan",)),
        "applicant.submit": Target("draft_applicant", "/beijing/me/applications/{draft}/submit",
                                   {"version": valid_or(0, -1)}, when=(2026, 7, 8, 9),
                                   watch=[(Application, "draft")]),
        "applicant.delete_entry": Target(
            "draft_applicant",
            "/beijing/me/applications/{draft}/entries/papers/{draft_entry}/delete",
            {"version": valid_or(-1)}, when=(2026, 7, 8, 9), watch=[(Application, "draft")]),
        "applicant.delete_attachment": Target(
            "draft_applicant", "/beijing/me/applications/{draft}/attachments/{draft_att}/delete",
            {"version": valid_or(-1)}, when=(2026, 7, 8, 9), watch=[(Application, "draft")]),
        "applicant.add_profile_item (papers)": Target(
            "applicant", "/beijing/me/profile/papers",
            {"title": 200, "journal": 200, "year": valid_or(2023), "coauthors": 200,
             "evidence": 200}, saved=profile_item_saved("papers"), must_accept=True,
            example={"title": "装配式混凝土框架节点😀e\u0301", "journal": "建筑结构 Ωмир",
                     "year": "2023", "evidence": "期刊封面 👩\u200d💻"}),
        "applicant.add_profile_item (education, with a scan)": Target(
            "applicant", "/beijing/me/profile/education",
            {"school": 200, "major": 200, "degree": 200, "graduated_on": valid_or("2007-07-01"),
             "evidence": 200}, files=("scan",)),
        "applicant.add_profile_item (unknown kind)": Target(
            "applicant", "/beijing/me/profile/%E2%80%AEx", {"title": 200}),
        "applicant.profile_item": Target(
            "applicant", "/beijing/me/profile/items/{profile_item}",
            {"version": valid_or(1, -1), "school": 200, "major": 200, "degree": 200,
             "graduated_on": valid_or("2007-07-01"), "evidence": 200},
            watch=[(ProfileItem, "profile_item")], files=("scan",)),
        "applicant.delete_profile_item": Target(
            "applicant", "/beijing/me/profile/items/{profile_item}/delete",
            {"version": valid_or(-1)}, watch=[(ProfileItem, "profile_item")]),
        "applicant.conflicts": Target("draft_applicant", "/beijing/me/conflicts", {
            "expert_name": 60, "kind": valid_or("relative", "other"), "note": 500},
            saved=conflict_saved, must_accept=True,
            example={"expert_name": "欧阳·Ñúñez😀", "kind": "other", "note": "e\u0301 한국어"}),
        "results.mine": Target("applicant", "/beijing/results/mine",
                               {"application": valid_or("@app", 0), "reason": 4000}),
        "payments.checkout": Target("applicant", "/beijing/pay/applications/{app}/gateway",
                                    {"x": 10}, watch=[(Application, "app")]),
        "office.act (return)": Target(
            "employer_clerk", "/beijing/office/applications/{recommended_app}/return",
            {"version": valid_or(-1), "opinion": 2000, "target-0": valid_or("papers", "basic"),
             "text-0": 2000, "no_objection": valid_or("y")},
            watch=[(Application, "recommended_app")]),
        "agency.act (agency_return)": Target(
            "agency_clerk", "/beijing/agency/applications/{recommended_app}/agency_return",
            {"version": valid_or(-1), "opinion": 2000, "due": valid_or("2026-12-20"),
             "target-0": valid_or("papers", "material:id_card"), "text-0": 2000},
            watch=[(Application, "recommended_app")]),
        "payments.confirm_offline": Target(
            "agency_clerk", "/beijing/pay/agency/applications/{recommended_app}/offline",
            {"version": valid_or(-1), "reference": 200},
            watch=[(Application, "recommended_app")]),
        "agency.file_committee": Target(
            "agency_clerk", "/beijing/agency/committees/{committee}/file", {
                "filed_on": valid_or("2026-01-01"), "valid_until": valid_or("2028-12-31"),
                "scope": 2000, "standard": valid_or("业绩成果|60\n答辩|40"), "procedure": 4000,
                "roster": valid_or("@expert_id")}),
        "agency.expert_pool": Target("agency_clerk", "/beijing/agency/experts", {
            "name": 60, "gender": valid_or("male"), "birth_date": valid_or("1970-05-01"),
            "title_level": valid_or("senior"), "title_year": valid_or(2010),
            "series": valid_or("engineering"), "specialty": 40, "employer_name": 200,
            "employer_org_id": valid_or(0), "private_sector": valid_or("y"),
            "role": valid_or("member"), "entry_route": valid_or("invited"),
            "recommended_by_org_id": valid_or(0), "term_start": valid_or("2026-01-01"),
            "terms": valid_or(1), "username": 60}),
        "agency.expert_exit": Target("agency_clerk", "/beijing/agency/experts/{expert_id}/exit",
                                     {"reason": valid_or("retired", "other")}),
        # applying to become a self-review unit (SR-ELIG-1, SR-ELIG-2, SR-APPLY-1)
        "selfreview.apply": Target("employer_clerk", "/beijing/self-review/apply", {
            "unit_type": valid_or("enterprise", "civil_service_institution", "rd_institute"),
            "legal_person": valid_or("1"), "total_staff": valid_or(100, 0, -5),
            "professional_staff": valid_or(80, 50), "department_org_id": valid_or("", 0),
            "scope": valid_or("engineering:senior", "engineering:nonsense"),
            "expert_key_0": valid_or("engineering:", "engineering:mechanical", "nope:x"),
            "expert_count_0": valid_or(5, 0), "influence": 2000, "relaxation": 2000},
            files=("plan", "standards")),
        "selfreview.act (recommend)": Target(
            "hr_county", "/beijing/self-review/{self_review}/recommend",
            {"version": valid_or(-1), "opinion": 2000}, watch=[(SelfReviewApplication,
                                                                 "self_review")]),
        "selfreview.act (not_recommend)": Target(
            "hr_county", "/beijing/self-review/{self_review}/not_recommend",
            {"version": valid_or(-1), "opinion": 2000}, watch=[(SelfReviewApplication,
                                                                 "self_review")]),
        "selfreview.act (form_group)": Target(
            "hr_city", "/beijing/self-review/{self_review}/form_group",
            {"version": valid_or(-1), "group": 2000}, watch=[(SelfReviewApplication,
                                                              "self_review")]),
        "selfreview.act (approve)": Target(
            "hr_city", "/beijing/self-review/{self_review}/approve",
            {"version": valid_or(-1), "opinion": 2000, "approved": valid_or("engineering:senior"),
             "finding_qualification": 2000,
             "finding_rules": 2000, "finding_experts": 2000, "finding_contribution": 2000},
            watch=[(SelfReviewApplication, "self_review")]),
        "selfreview.act (refuse)": Target(
            "hr_city", "/beijing/self-review/{self_review}/refuse",
            {"version": valid_or(-1), "opinion": 2000, "finding_qualification": 2000,
             "finding_rules": 2000, "finding_experts": 2000, "finding_contribution": 2000},
            watch=[(SelfReviewApplication, "self_review")]),
        # a self-review unit at work (SR-RUN-1): the approved unit's clerk, the city HR bureau
        "selfreview.run_office": Target("sr_clerk", "/beijing/self-review/run/office", {
            "version": valid_or(-1), "office_name": 200, "office_contact": 200},
            watch=[(SelfReviewSetup, "sr_setup")]),
        "selfreview.run_staff": Target("sr_clerk", "/beijing/self-review/run/staff", {
            "name": 60, "mobile": valid_or("13912345678", "123"),
            "username": valid_or("sr-fuzz", "A B")}),
        "selfreview.run_documents": Target("sr_clerk", "/beijing/self-review/run/documents", {
            "version": valid_or(-1), "decision_body": 200,
            "decided_on": valid_or("2026-02-20", "2027-01-01")}, files=("plan", "standards"),
            watch=[(SelfReviewSetup, "sr_setup")]),
        "selfreview.run_documents_act (record_publicity)": Target(
            "sr_clerk", "/beijing/self-review/run/documents/record_publicity", {
                "version": valid_or(-1), "publicity_from": valid_or("2026-02-21", "x"),
                "publicity_to": valid_or("2026-02-27", "2026-02-01")},
            watch=[(SelfReviewSetup, "sr_setup")]),
        "selfreview.run_plan_new": Target("sr_clerk", "/beijing/self-review/run/plans/new", {
            "year": valid_or(2027, 1999), "apply_opens": valid_or("2027-03-01", "x"),
            "apply_closes": valid_or("2027-04-01"), "review_opens": valid_or("2027-05-01"),
            "review_closes": valid_or("2027-06-30", "2027-01-01"), "procedure": 4000,
            "experts": 4000, "indicators": 4000, "groups": 4000,
            "scope": valid_or("engineering:senior", "economics:senior")}),
        "selfreview.run_committee": Target(
            "sr_office", "/beijing/self-review/run/plans/2026/committees", {
                "name": 200, "series": valid_or("engineering", "x"),
                "levels": valid_or("senior", "intermediate"), "scope": 4000,
                "standard": valid_or("业绩|100", "x|y"), "procedure": 4000,
                "roster": valid_or("@sr_expert", 0)}),
        "selfreview.run_open": Target("sr_clerk", "/beijing/self-review/run/plans/2026/open",
                                      {"version": valid_or(-1)},
                                      watch=[(SelfReviewYearPlan, "sr_year_plan")]),
        "selfreview.unit_act (return_documents)": Target(
            "hr_city", "/beijing/self-review/units/{sr_setup}/return_documents",
            {"version": valid_or(-1), "opinion": 4000}, watch=[(SelfReviewSetup, "sr_setup")]),
        "selfreview.unit_committee_file": Target(
            "hr_city", "/beijing/self-review/unit-committees/{sr_committee}/file",
            {"filed_on": valid_or("2026-12-01", "2026-13-01"),
             "valid_until": valid_or("2029-11-30", "2035-01-01")}),
        # academic review entrusted by a university (BJ23-SELF-1): the unit files, the
        # education commission's clerk decides, and records opinions on files it was given
        "selfreview.entrustments": Target("sr_clerk", "/beijing/self-review/entrustments", {
            "entrusted_org_id": valid_or("@sr_edu_org", "0"), "year": valid_or(2026, 1999),
            "scope": valid_or("engineering:senior", "engineering:junior"), "note": 2000}),
        "selfreview.entrustment_act (accept)": Target(
            "sr_edu", "/beijing/self-review/entrustments/{sr_entrustment}/accept",
            {"version": valid_or(-1), "opinion": 2000},
            watch=[(AcademicEntrustment, "sr_entrustment")]),
        "selfreview.entrustment_act (decline)": Target(
            "sr_edu", "/beijing/self-review/entrustments/{sr_entrustment}/decline",
            {"version": valid_or(-1), "opinion": 2000},
            watch=[(AcademicEntrustment, "sr_entrustment")]),
        # a file the body was not given: refused whatever is posted
        "selfreview.entrusted_file": Target(
            "sr_edu", "/beijing/self-review/entrusted/{pub_app}",
            {"version": valid_or(-1), "verdict": valid_or("pass", "maybe"), "opinion": 2000}),
        # the expert pool (AE-EXP-1/4/6, AE-DUTY-1, AE-SUPERV-1)
        "pool.nominations": Target("hr_county", "/beijing/pool/nominations", {
            "name": 60, "gender": valid_or("female"), "id_number": valid_or("110105198001011051"),
            "birth_date": valid_or("1980-01-01"), "mobile": valid_or("13912345678"),
            "title_level": valid_or("senior"), "title_year": valid_or(2015),
            "series": valid_or("engineering"), "specialty": 40,
            "employer_org_id": valid_or("@unit"), "agency_org_id": valid_or("@agency_org")}),
        "pool.vet (pass)": Target("agency_clerk", "/beijing/pool/vetting/{nominee}/vet_pass",
                                  {"version": valid_or(-1), "role": valid_or("member")},
                                  watch=[(Expert, "nominee")]),
        "pool.vet (return)": Target("agency_clerk", "/beijing/pool/vetting/{nominee}/vet_return",
                                    {"version": valid_or(-1), "opinion": 2000},
                                    watch=[(Expert, "nominee")]),
        "pool.approve": Target("hr_city", "/beijing/pool/approvals/{vetted}/approval_return",
                               {"version": valid_or(-1), "opinion": 2000},
                               watch=[(Expert, "vetted")]),
        "pool.profile": Target("expert", "/beijing/pool/me", {
            "title_level": valid_or("senior"), "title_year": valid_or(2015),
            "series": valid_or("engineering"), "specialty": 40,
            "employer_org_id": valid_or("@unit"), "employer_name": 200,
            "mobile": valid_or("13600001234"), "available": valid_or("y")}),
        "pool.check_change": Target("employer_clerk", "/beijing/pool/changes/{change}/return",
                                    {"version": valid_or(-1), "opinion": 2000},
                                    watch=[(ExpertChange, "change")]),
        "pool.training": Target("agency_clerk", "/beijing/pool/sessions/{session}/training",
                                {"expert": valid_or(0, 999999)}),
        "pool.assess": Target("agency_clerk", "/beijing/pool/assessments/{expert_id}", {
            "year": valid_or(2026), "result": valid_or("pass", "fail"), "note": 2000},
            watch=[(Expert, "expert_id")]),
        "agency.session_list": Target("agency_clerk", "/beijing/agency/sessions", {
            "committee": valid_or("@committee"), "plan": valid_or("@plan"),
            "series": valid_or("engineering"), "level": valid_or("senior"),
            "panel_size": valid_or(5, 0, -3), "held_on": valid_or("2026-12-20")}),
        "agency.session_act (add)": Target(
            "agency_clerk", "/beijing/agency/sessions/{session}/add",
            {"app": valid_or("@recommended_app", 0)}, watch=[(ReviewSession, "session")]),
        "agency.session_act (replace)": Target(
            "agency_clerk", "/beijing/agency/sessions/{session}/replace",
            {"member": valid_or(1, 999999), "reason": 2000}, watch=[(ReviewSession, "session")]),
        "agency.session_act (upload)": Target(
            "agency_clerk", "/beijing/agency/sessions/{closed_session}/upload",
            {"kind": valid_or("minutes", "recording")}, files=("file",)),
        "results.report": Target("agency_clerk",
                                 "/beijing/results/sessions/{closed_session}/report",
                                 {"report": 4000}),
        "results.publicise": Target("agency_clerk",
                                    "/beijing/results/sessions/{closed_session}/publicise", {}),
        "results.upload": Target("agency_clerk", "/beijing/results/publications/{pub}/documents",
                                 {"kind": valid_or("approval_report", "committee_pledge")},
                                 files=("file",)),
        "results.rechecks": Target("agency_clerk", "/beijing/results/rechecks",
                                   {"recheck": valid_or("@recheck", 0)}),
        "defense.schedule": Target("agency_clerk", "/beijing/defense/sessions/{session}", {
            "starts_at": valid_or("2026-12-20T09:30"), "place": 200, "capacity": valid_or(5),
            "what_to_bring": 2000}, when=(2026, 11, 1, 9)),
        "defense.assign": Target("agency_clerk", "/beijing/defense/sessions/{session}/assign",
                                 {"item": valid_or("@item", 0), "slot": valid_or(1, 0)},
                                 when=(2026, 11, 1, 9)),
        "payments.windows": Target("agency_clerk", "/beijing/pay/agency", {
            "committee": valid_or("@committee"), "plan": valid_or("@plan"),
            "opens_on": valid_or("2026-12-11"), "closes_on": valid_or("2026-12-20"),
            "amount": valid_or("350.00", "-1", "1e9"), "instructions": 2000}),
        "expert.score": Target(
            "expert", "/beijing/expert/sessions/{session}/items/{item}/score",
            {**{k: valid_or(v // 2, v, v + 1) for k, v in scores.items()}, "opinion": 2000},
            saved=score_saved, must_accept=True,
            example={"score-c1": "50", "score-c2": "30", "opinion": "业绩突出 ✓"}),
        "defense.record": Target("agency_clerk", "/beijing/defense/sessions/{session}/record",
                                 {"item": valid_or("@item", 0),
                                  "outcome": valid_or("held", "absent"), "note": 500},
                                 when=(2026, 11, 20, 10)),
        "expert.group_opinion": Target(
            "expert", "/beijing/expert/sessions/{session}/items/{item}/opinion",
            {"opinion": 4000, "group": valid_or(1, 2)}, when=(2026, 11, 20, 10)),
        "expert.absence": Target("expert",
                                 "/beijing/expert/sessions/{session}/items/{item}/absence",
                                 {"decision": 2000}, when=(2026, 11, 20, 10)),
        "expert.agreement": Target("expert", "/beijing/expert/agreement",
                                   {"accept": valid_or("y")}),
        "expert.attendance": Target("expert", "/beijing/expert/sessions/{session}/attendance",
                                    {"version": valid_or(-1), "present": valid_or(1, 2)},
                                    watch=[(ReviewSession, "session")]),
        "expert.ballot": Target("expert", "/beijing/expert/sessions/{session}/ballot",
                                {"item-{item}": valid_or("yes", "no", "abstain")},
                                watch=[(ReviewSession, "session")]),
        "expert.close": Target("expert", "/beijing/expert/sessions/{session}/close",
                               {"version": valid_or(-1, "x")}, watch=[(ReviewSession, "session")]),
        "expert.recuse": Target("expert", "/beijing/expert/sessions/{closed_session}/recuse",
                                {"reason": 2000}),
        "results.decide": Target("hr_city", "/beijing/results/publications/{pub}/send_back",
                                 {"version": valid_or(-1), "opinion": 4000}),
        "results.resolve": Target("employer_clerk", "/beijing/results/objections/{obj}/reject",
                                  {"version": valid_or(-1), "opinion": 4000},
                                  watch=[(Objection, "obj")]),
        "certify.revoke": Target("hr_city", "/beijing/certificates/admin/{cert}/revoke", {
            "kind": valid_or("false_material", "plagiarism"), "opinion": 4000,
            "version": valid_or(-1, "x")}),
        "admin.decide": Target("hr_county", "/beijing/admin/employers/{org}/reject",
                               {"version": valid_or(-1), "opinion": 4000}),
        "admin.new_org": Target("hr_city", "/beijing/admin/orgs/new", {
            "kind": valid_or("department", "employer", "agency"), "code": valid_or("fz-unit"),
            "name": 200, "name_en": 200, "tier": valid_or("city", "county"),
            "district": valid_or("haidian", ""), "parent_id": valid_or("", "@unit"),
            "employer_kind": valid_or("non_public", ""), "uscc": valid_or(f.USCCS[8], ""),
            "series": valid_or("engineering")}),
        "admin.edit_org": Target("hr_county", "/beijing/admin/orgs/{org}", {
            "version": valid_or(-1), "name": 200, "name_en": 200, "tier": valid_or("county"),
            "employer_kind": valid_or("non_public"), "uscc": 30, "series": 40},
            watch=[(Org, "org")]),
        "admin.move_org": Target("hr_county", "/beijing/admin/orgs/{org}/move", {
            "version": valid_or(-1), "district": valid_or("haidian", "atlantis"),
            "parent_id": valid_or("@unit", "")}, watch=[(Org, "org")]),
        "admin.close_org": Target("hr_county", "/beijing/admin/orgs/{org}/close", {
            "version": valid_or(-1), "reason": 500}, watch=[(Org, "org")]),
        "staff.invite": Target("hr_county", "/beijing/staff/offices/{unit}/invite", {
            "name": 60, "mobile": valid_or("13912340000"), "username": valid_or("fz-user"),
            "role": valid_or("employer_clerk", "hr_officer"), "office_admin": valid_or("y")}),
        "staff.account_action": Target("hr_county",
                                       "/beijing/staff/accounts/{clerk_user}/enable", {"x": 10}),
        "staff.setup": Target(None, "/beijing/staff/welcome/no-such-link", {
            "password": 128, "password2": 128}),
        "admin.move_close": Target("tenant_admin", "/beijing/admin/plans/{plan}/apply/close",
                                   {"closes_on": valid_or("2026-12-31", "2026-01-01")}),
        "admin.retry_job": Target("tenant_admin", "/beijing/admin/jobs/{run}/retry", {"x": 10}),
        "admin.move_demo_clock": Target("tenant_admin", "/beijing/admin/demo-clock/{demo_plan}",
                                        {"days": valid_or(3, 0, 61), "base": valid_or(0, -1)}),
        # Years without plans only: a rehearsal that starts takes seconds (test_rehearsal.py).
        "admin.rehearsals": Target("tenant_admin", "/beijing/admin/rehearsals",
                                   {"year": valid_or("2025", "1999", "-1"),
                                    "size": valid_or("tiny", "small", "full")}),
        # Chifeng's own forms
        "office.verify_staff": Target("employer_clerk", "/chifeng/office/staff/{user}/verify",
                                      {"x": 10}, tenant="chifeng"),
        "office.verify_profile_item": Target(
            "employer_clerk", "/chifeng/office/staff/{user}/items/{staff_item}/verify",
            {"version": valid_or(-1)}, tenant="chifeng", watch=[(ProfileItem, "staff_item")]),
        "office.reject_profile_item": Target(
            "employer_clerk", "/chifeng/office/staff/{user}/items/{staff_item}/reject",
            {"version": valid_or(-1), "reason": 500}, tenant="chifeng",
            watch=[(ProfileItem, "staff_item")]),
        "office.reports": Target("hr_county", "/chifeng/office/reports",
                                 {"plan": valid_or("@plan", 0)}, tenant="chifeng"),
        "office.quota": Target("hr_city", "/chifeng/office/quotas/{quota}",
                               {"target": 60, "places": valid_or(1, -1)}, tenant="chifeng"),
        "paper.receive": Target("hr_county", "/chifeng/paper/receive", {"code": 40},
                                tenant="chifeng"),
        "paper.record": Target("hr_county", "/chifeng/paper/receive/record",
                               {"code": 40, "arrived": 40, "opinion": 2000}, tenant="chifeng"),
        "agencies.my_filing": Target("agency_clerk", "/beijing/agencies/filing", {
            "version": valid_or(1, -1), "profile": 4000, "head": 60, "head_title": 60,
            "scope": 4000, "purpose": 4000, "address": 200, "phone": 40, "hours": 200,
            "staff_count": valid_or(6, 0), "staff": 4000, "facilities": 4000,
            "strengths": 4000, "committees": 4000}),
        "agencies.committee_publish": Target(
            "agency_clerk", "/beijing/agencies/committees/{committee}/publish",
            {"version": valid_or(-1), "conditions": 4000, "materials": 4000}),
        "agencies.decide (file)": Target(
            "hr_city", "/beijing/agencies/filings/{filing}/file",
            {"version": valid_or(-1), "filed_on": valid_or("2026-12-01"),
             "valid_until": valid_or("2029-11-30"), "reason": 4000}),
        "agencies.new_committee": Target(
            "hr_city", "/beijing/agencies/register/{agency_org}/committees", {
                "name": 200, "name_en": 200, "series": valid_or("engineering", "x"),
                "levels": valid_or("senior", "intermediate"),
                "specialties": valid_or("mechanical", "robotics")}),
        "agencies.directory_admin": Target("hr_city", "/beijing/agencies/directory",
                                           {"year": valid_or(2026, 2027)}),
        "agencies.directory_publish": Target("hr_city", "/beijing/agencies/directory/2026/publish",
                                             {"version": valid_or(-1)}),
        "agencies.notices_page": Target("hr_county", "/beijing/agencies/notices", {
            "year": valid_or(2026), "title": 200, "body": 20000,
            "issued_on": valid_or("2026-05-06"), "opens_on": valid_or("2026-05-11", ""),
            "closes_on": valid_or("2026-07-10", "")}, files=("file",)),
        "agencies.acknowledge_notice": Target(
            "hr_city", "/beijing/agencies/notices/{notice}/acknowledge", {}),
        "agencies.assess": Target("hr_city", "/beijing/agencies/register/{agency_org}/assess", {
            "year": valid_or(2026), "result": valid_or("pass", "fail"), "note": 4000}),
        "agencies.standing (suspend)": Target(
            "hr_city", "/beijing/agencies/register/{agency_org}/suspend", {"reason": 4000}),
        # complaints and reports (AE-COMPLAIN-1), supervisory members (AE-SUPERV-1)
        "complaints.new": Target(
            None, "/beijing/complaints/new",
            {"kind": valid_or("procedure", "material"), "agency": valid_or("@agency_org", 0),
             "employer": valid_or("@unit", 0), "target": 200, "facts": 4000, "evidence": 4000,
             "lead": 4000, "complainant": 60, "mobile": valid_or("13912345678", "")},
            files=("evidence_file",), saved=complaint_saved, must_accept=True,
            example={"kind": "procedure", "agency": "@agency_org", "target": "评审机构 José",
                     "facts": "未全程录像😀", "evidence": "现场照片", "lead": "同场申报人",
                     "complainant": "", "mobile": "13912345678"}),
        "complaints.lookup": Target(None, "/beijing/complaints/lookup", {"code": 30}),
        "complaints.answer": Target(
            "agency_clerk", "/beijing/complaints/{complaint}/answer",
            {"version": valid_or(-1), "outcome": valid_or("founded", "unfounded"),
             "opinion": 4000}, watch=[(Complaint, "complaint")]),
        "oversight.appoint": Target("hr_city", "/beijing/oversight/sessions/{session}/supervisors",
                                    {"user": valid_or("@dept_user", 0)}),
        "oversight.present": Target("hr_county",
                                    "/beijing/oversight/supervision/{session}/present", {"x": 10}),
        "oversight.withdraw": Target("hr_city",
                                     "/beijing/oversight/supervisors/{supervisor}/withdraw",
                                     {"x": 10}),
        # Batches: the preview writes nothing, so it is fuzzed over files the office holds;
        # a run or an undo over files it does not hold (an accepted run would move the world).
        "office.batch_preview": Target(
            "employer_clerk", "/beijing/office/batch",
            {"action": valid_or("recommend"), "ids": valid_or("@recommended_app", "@draft"),
             "opinion": 2000, "no_objection": valid_or("y")},
            watch=[(Application, "recommended_app")]),
        "agency.batch_preview": Target(
            "agency_clerk", "/beijing/agency/batch",
            {"action": valid_or("check_pass", "to_session"), "ids": valid_or("@recommended_app"),
             "session": valid_or("@session"), "opinion": 2000},
            watch=[(Application, "recommended_app")]),
        "office.batch_run": Target(
            "employer_clerk", "/beijing/office/batch/confirm",
            {"action": valid_or("recommend"), "ids": valid_or("@recommended_app"),
             "version-{recommended_app}": valid_or(-1), "opinion": 2000,
             "no_objection": valid_or("y")},
            watch=[(Application, "recommended_app")]),
        "agency.batch_run": Target(
            "agency_clerk", "/beijing/agency/batch/confirm",
            {"action": valid_or("check_pass", "to_session"), "ids": valid_or("@draft"),
             "session": valid_or("@session"), "opinion": 2000},
            watch=[(Application, "draft")]),
        "office.batch_undo": Target("employer_clerk", "/beijing/office/batch/{batch}/undo",
                                    {"x": 10}),
        "agency.batch_undo": Target("agency_clerk", "/beijing/agency/batch/{batch}/undo",
                                    {"x": 10}),
        # Last: an accepted request disqualifies the file for good.
        "office.integrity": Target(
            "employer_clerk", "/beijing/office/applications/{recommended_app}/integrity",
            {"version": valid_or(-1), "kind": valid_or("false_material", "plagiarism"),
             "opinion": 4000, "serious": valid_or("y")},
            watch=[(Application, "recommended_app")]),
    }


TARGETS = targets()


def test_every_post_endpoint_is_fuzzed(world):
    """A new form or htmx POST is added here too (the callback is the gateway's JSON, the
    simulator and logout take no input, the posts form is Chifeng public institutions', the
    resumable upload's input is its headers: fuzzed in tests/test_resumable_uploads.py)."""
    app, _ = world
    not_forms = {"payments.callback", "payments.simulator", "auth.logout", "office.posts",
                 "applicant.upload_create"}
    fuzzed = {name.split(" ")[0] for name in TARGETS}
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert posts - fuzzed - not_forms == set(), "add a Target to targets() in test_fuzz_forms.py"


# -- the world ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    with world_app(database_url, tmp_path_factory, "fuzz") as w:
        yield w


def _client(app, slug: str, username: str | None, when: tuple, cache: dict):
    if username not in cache:
        c = app.test_client()
        if username is not None:
            with time_machine.travel(at(*when), tick=False):
                resp = c.post(f"/{slug}/login", data={"username": username,
                                                     "password": PASSWORD})
            assert resp.status_code == 303, username
        cache[username] = c
    return cache[username]


def _resolve(value, ids: dict):
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        return str(ids.get(value[1:], value))
    return value


def _has(value, char: str) -> bool:
    return any(char in v for v in (value if isinstance(value, list) else [value])
               if isinstance(v, str))


@pytest.mark.parametrize("name", list(TARGETS))
def test_form_survives_any_input(world, name):
    app, sides = world
    target = TARGETS[name]
    side = sides[target.tenant]
    ids = side.ids
    username = None if target.user is None else (
        side.ids[target.user] if target.user in side.ids else side.own[target.user])
    url = target.url.format(**ids)
    fields = {k.format(**ids): v for k, v in target.fields.items()}
    clients, refused_nul, saved = {}, [], []
    strategy = form_values(fields)
    if target.files:
        strategy = st.tuples(strategy, st.one_of(
            st.binary(max_size=200),
            st.sampled_from([f.pdf_bytes(), f.png_bytes(), b"%PDF-1.4\x00"]),
            ), st.text(alphabet=st.sampled_from(CONTROL + MIXED + "ab.pdf/"), max_size=80),
            st.booleans())
    else:
        strategy = st.tuples(strategy, st.none(), st.none(), st.booleans())

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(drawn):
        data, blob, filename, htmx = drawn
        data = {k: _resolve(v, ids) for k, v in data.items()}
        client = _client(app, target.tenant, username, target.when, clients)
        with app.app_context():
            before = {"rows": row_counts(),
                      **{key: state_of(model, ids[key]) for model, key in target.watch}}
            before_app = {"app": state_of(Application, ids["draft"])} if "draft" in ids else {}
        payload = dict(data)
        if target.files:
            for fname in target.files:
                payload[fname] = (io.BytesIO(blob), filename or "x")
        with time_machine.travel(at(*target.when), tick=False):
            try:  # the test client raises what the view raised (TESTING propagates it)
                resp = client.post(url, data=payload, content_type="multipart/form-data",
                                   headers={"HX-Request": "true"} if htmx else {})
                error = None if resp.status_code < 500 else f"status {resp.status_code}"
            except Exception as e:  # noqa: BLE001 - any of them is a server error
                error = f"{type(e).__name__}: {e}"[:300]
        if error:
            if any(_has(v, "\x00") for v in data.values()) or (filename and "\x00" in filename):
                refused_nul.append(error)
                return
            raise AssertionError(f"{name}: server error ({error}) for {data!r}")
        assert not (resp.status_code == 302 and "/login" in resp.location), "signed out"
        with app.app_context():
            after = {"rows": row_counts(),
                     **{key: state_of(model, ids[key]) for model, key in target.watch}}
            after_app = {"app": state_of(Application, ids["draft"])} if "draft" in ids else {}
            problems = []
            changed_rows = {t: (before["rows"][t], n) for t, n in after["rows"].items()
                            if before["rows"][t] != n}
            for model, key in target.watch:
                was, now = before[key], after[key]
                moved = {k for k in now if now[k] != was.get(k)} - {"version", "updated_at"}
                if "status" in moved and now.get("version") == was.get("version"):
                    problems.append(f"{key}: status {was['status']}→{now['status']} without a "
                                    f"new version")
                if "status" in moved and "audit_events" not in changed_rows:
                    problems.append(f"{key}: status {was['status']}→{now['status']} without an "
                                    f"audit row")
            accepted = bool(changed_rows) or before_app != after_app
            if accepted and target.saved is not None and (
                    changed_rows.keys() - {"audit_events"} or before_app != after_app):
                problems += target.saved(data, before_app, after_app, ids)
                saved.append(data)
        assert not problems, f"{name}: {problems} for {data!r}"

    if target.example is not None:
        prop = example((target.example, None, None, False))(prop)
        prop = example((target.example, None, None, True))(prop)
    # valid choices and a NUL in every text field, on every form: text fields must refuse
    # control characters before they reach the database
    nul = {k: "a\x00b" if isinstance(v, int) else VALID.get(v, "a\x00b")
           for k, v in fields.items()}
    everywhere = {k: "a\x00b" for k in fields}  # and in every field, choices and numbers too
    for data in (nul, everywhere):
        prop = example((data, None, None, False) if not target.files else
                       (data, f.pdf_bytes(), "a\x00.pdf", True))(prop)
    prop()
    assert saved or not target.must_accept, f"{name}: no example was accepted and saved"
    assert not refused_nul, (f"{NUL_REFUSAL}: {len(refused_nul)} examples with NUL failed with a "
                             f"server error on {name} ({refused_nul[0][:120]})")
