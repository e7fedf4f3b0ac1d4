"""The simulated year: every synthetic file moved by the services the pages use, each office
acting through its own account on working days, on a clock moved day by day through the
tenant's calendar (see the package docstring for how the clock is moved, and where)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
import time_machine

from .. import uploads
from ..extensions import db
from ..models import (
    Application, Attachment, AuditEvent, Committee, Entry, Org, Plan, Status, Tenant, User,
)
from ..models.review import ReviewSession
from ..tenancy.schema import StepKind
from ..workflow import (
    defense, directed, expert_pool, experts, profiles, results, review_group, sessions,
)
from ..workflow.actors import Actor
from ..workflow.applications import create_application
from ..workflow.calendar import TZ, WorkCalendar
from ..workflow.eligibility import required_materials
from ..workflow.errors import TransitionError
from ..workflow.policies import level_below
from ..workflow.routing import STEP_ROLE
from ..workflow.transitions import audit, transition
from . import checks, population
from .report import STAGES, build_report

FINAL = {Status.certified.value, Status.failed.value, Status.not_recommended.value,
         Status.abandoned.value, Status.disqualified.value, Status.annulled.value}
LOST = {Status.not_recommended.value, Status.abandoned.value, Status.disqualified.value}
# The stage a file in each state is in (before it moves on).
STAGE_OF = {None: "apply", Status.draft.value: "apply", Status.submitted.value: "offices",
            Status.in_notice.value: "notice", Status.returned.value: "offices",
            Status.recommended.value: "agency_check", Status.checked.value: "agency_check",
            Status.paid.value: "review", Status.in_review.value: "review",
            Status.passed.value: "results", Status.certified.value: "certificate",
            Status.failed.value: "review"}


def why(e: Exception) -> str:
    """An error's message with its listed problems, as a user would read it."""
    text = str(getattr(e, "message", e))
    problems = [str(p) for p in getattr(e, "problems", [])]
    return text + ("".join(problems) if text.endswith("：") else
                   ("：" + "；".join(problems) if problems else ""))


@dataclass
class Track:
    case: population.Case
    app_id: int | None = None
    stage: str = "apply"
    reached: set = field(default_factory=set)
    error: str = ""          # the last refusal met (why it stalled, when it did)
    group_error: str = ""    # the refusal its review session met
    lost_reason: str = ""    # what closed it (abandoned, not recommended)
    lost_stage: str = ""


@dataclass
class Group:
    """The files of one committee, plan, series and level reviewed together."""
    key: tuple
    session_id: int | None = None
    held_on: date | None = None
    voted: bool = False
    reported: bool = False
    error: str = ""


class Simulation:
    def __init__(self, cfg, year: int, size: str, progress=None):
        self.cfg, self.year, self.size, self.progress = cfg, year, size, progress
        self.calendar = WorkCalendar(cfg)
        self.findings: list[dict] = []
        self.tracks: list[Track] = []
        self.groups: dict[tuple, Group] = {}
        self.apply_days: dict[int, dict] = {}
        self.pdf = _pdf()

    # -- set-up ----------------------------------------------------------------------------
    def find(self, cause: str, stage: str, detail: str, severity: str = "problem") -> None:
        self.findings.append({"cause": cause, "stage": stage, "detail": detail,
                              "severity": severity})

    def run(self) -> dict:
        cfg = self.cfg
        self.tenant_id = db.session.scalar(sa.select(Tenant.id).filter_by(slug=cfg.slug))
        self.plans = list(db.session.scalars(sa.select(Plan).filter_by(
            tenant_id=self.tenant_id, year=self.year, is_demo=False).order_by(Plan.id)))
        if not self.plans:
            self.find("no_plan", "apply", f"{cfg.slug} 没有 {self.year} 年度的评审计划。")
            return build_report(self)
        self.findings += checks.static(cfg, self.plans, self.calendar)
        for text in population.load_base(cfg, self.tenant_id, self.year):
            self.find("config", "apply", text)
        population.staff_offices(self.tenant_id)
        self.employers = population.employers(cfg, self.tenant_id, self.year)
        self.findings += checks.experts(cfg, self.tenant_id, self.plans)
        self.pools = population.expert_pools(cfg, self.tenant_id, self.year)
        start = min(w.opens_on for p in self.plans for w in p.windows)
        self.file_committees(start)
        self.set_fees()
        found, missing = population.cases(cfg, self.tenant_id, self.plans, self.employers,
                                          self.size)
        for m in missing:
            self.find("no_committee", "apply",
                      f"{m['plan']}：{m['series']}/{m['level']} {m['specialty']} 没有评审委员会受理，"
                      "该类人员无法申报。", "warning")
        self.tracks = [Track(c) for c in found]
        self.simulate(start)
        return build_report(self)

    def agency_actor(self, committee: Committee) -> Actor | None:
        return self.clerk(committee.agency_org_id, "agency_clerk")

    def clerk(self, org_id: int | None, role: str) -> Actor | None:
        user = db.session.scalar(sa.select(User).filter_by(
            tenant_id=self.tenant_id, org_id=org_id, role=role, active=True).order_by(User.id))
        return Actor.of(user) if user else None

    def file_committees(self, start: date) -> None:
        """Each committee filed by its agency for the year (AE-COMM-1), with its series' experts
        as roster; a committee that cannot be filed is a finding."""
        from ..demo import _file_committee
        from ..tenancy.loader import TenantConfigError
        for committee in db.session.scalars(sa.select(Committee).filter_by(
                tenant_id=self.tenant_id).order_by(Committee.id)):
            agency = self.agency_actor(committee)
            try:
                _file_committee(self.cfg, agency, committee, start, "rehearsal")
            except (TenantConfigError, TransitionError) as e:
                db.session.rollback()
                self.find("committee_no_filing", "review",
                          f"评审委员会 {committee.code} 无法备案：{why(e)}")

    def set_fees(self) -> None:
        if not self.cfg.policies.fee_required:
            return
        from ..workflow.fees import set_fee_window
        for committee in db.session.scalars(sa.select(Committee).filter_by(
                tenant_id=self.tenant_id).order_by(Committee.id)):
            for plan in self.plans:
                window = plan.window("agency_check")
                if window is None:
                    continue
                try:
                    set_fee_window(self.cfg, self.agency_actor(committee),
                                   committee_id=committee.id, plan_id=plan.id,
                                   opens_on=window.opens_on, closes_on=window.closes_on,
                                   amount=30000, instructions="演练")
                except TransitionError as e:
                    db.session.rollback()
                    self.find("fee", "fee", f"{committee.code}/{plan.code}：{why(e)}")

    # -- the clock --------------------------------------------------------------------------
    def simulate(self, start: date) -> None:
        from ..jobs.deadlines import schedule_all
        end = max(w.closes_on for p in self.plans for w in p.windows) + timedelta(days=45)
        total = (end - start).days + 1
        # The certificate batch runs as it is; only its documents are laid out as blank pages,
        # since their typesetting tells nothing about the year and takes a second each.
        from unittest import mock
        blank = mock.patch("app.workflow.certificates.render_pdf",
                           lambda template, **ctx: self.pdf)
        # The closes run inside the rehearsal's own job: their rows are not its progress.
        quiet = mock.patch("app.jobs.deadlines.report_progress", lambda *a, **k: None)
        with blank, quiet, time_machine.travel(datetime.combine(start, time(0, 5), TZ),
                                        tick=False) as clock:
            day = start
            while day <= end:
                clock.move_to(datetime.combine(day, time(0, 5), TZ))
                schedule_all()  # every close now overdue runs, in time order (JOBS_INLINE)
                self.load()
                self.note_losses(day)
                if self.calendar.is_workday(day):
                    clock.move_to(datetime.combine(day, time(10), TZ))
                    now = datetime.combine(day, time(10), TZ)
                    for t in self.tracks:
                        self.step(t, day, now)
                    self.load()
                    self.review(day, now)
                if self.progress:
                    self.progress((day - start).days + 1, total)
                if all(self.done(t) for t in self.tracks) and day > start:
                    clock.move_to(datetime.combine(end, time(0, 5), TZ))
                    schedule_all()
                    break
                day += timedelta(days=1)
            self.note_losses(day)
        for t in self.tracks:
            self.place(t)
        if self.progress:
            self.progress(total, total)

    def load(self) -> None:
        """Every file of the tenant in one query (the steps then read them from the session)."""
        db.session.scalars(sa.select(Application).filter_by(tenant_id=self.tenant_id)).all()

    def app(self, t: Track) -> Application | None:
        return db.session.get(Application, t.app_id) if t.app_id else None

    def done(self, t: Track) -> bool:
        a = self.app(t)
        return a is not None and a.status in FINAL

    def note_losses(self, day: date) -> None:
        """Files a close moved out of the year: when, at what stage and why (the close's
        recorded reason)."""
        for t in self.tracks:
            a = self.app(t)
            if a is None or a.status not in LOST or t.lost_reason:
                continue
            last = db.session.scalar(sa.select(AuditEvent.reason).filter_by(
                subject_type="applications", subject_id=a.id).order_by(AuditEvent.id.desc()))
            t.lost_reason, t.lost_stage = last or a.status, t.stage
            if t.error:  # what was refused before the close came
                t.lost_reason += f"（此前：{t.error}）"

    # -- one file ---------------------------------------------------------------------------
    def step(self, t: Track, day: date, now: datetime) -> None:
        a = self.app(t)
        if a is not None and a.status in FINAL:
            return
        try:
            if self.act(t, a, day, now):
                t.error = ""
        except TransitionError as e:
            db.session.rollback()
            t.error = t.error or why(e)  # the first refusal: later ones follow from it
        self.place(t)

    def place(self, t: Track) -> None:
        """Note the stage the file is in now."""
        a = self.app(t)
        if a is None:
            return
        t.reached.add("apply")
        status = a.status
        stage = STAGE_OF.get(status, t.stage)
        if status == Status.checked.value and self.cfg.policies.fee_required:
            stage = "fee"
        # Stages passed through within one day count as entered (and left) too.
        before, after = STAGES.index(t.stage), STAGES.index(stage)
        direct = a.route and a.route[0]["kind"] == StepKind.agency.value  # freelancers
        for passed in STAGES[before:after]:
            if passed == "fee" and not self.cfg.policies.fee_required:
                continue
            if passed in ("notice", "offices") and direct:
                continue
            t.reached.add(passed)
        t.stage = stage
        t.reached.add(stage)

    def holder(self, a: Application) -> Actor:
        role = STEP_ROLE[StepKind(a.current_step["kind"])].value
        actor = self.clerk(a.holder_org_id, role)
        if actor is None:
            org = db.session.get(Org, a.holder_org_id)
            raise TransitionError(f"{org.name if org else a.holder_org_id} 没有经办人账号")
        return actor

    def act(self, t: Track, a: Application | None, day: date, now: datetime) -> bool:
        """Take the file's next step due today; False when none is."""
        cfg = self.cfg
        if a is None:
            plan = next(p for p in self.plans if p.code == t.case.plan_code)
            if day < self.apply_day(t, plan):
                return False
            a = self.create(t, plan, now)
        if a.status == Status.draft.value:
            transition(cfg, a, "submit", Actor.of(a.applicant), now=now,
                       pledge=cfg.pledge.version if cfg.pledge else None)
            db.session.commit()
            # The employer starts its notice the day the file arrives: the rehearsal asks
            # whether the year leaves room, not how quickly a clerk works.
        if a.status == Status.submitted.value and a.current_step["kind"] == \
                StepKind.employer.value and a.notice_ends_on is None:
            transition(cfg, a, "start_notice", self.holder(a), now=now)
            return True
        if a.status in (Status.submitted.value, Status.in_notice.value):
            if a.notice_ends_on and day <= a.notice_ends_on:
                return False
            self.recommend(a, now)
            # Each office above acts the day the file reaches it, as fast as the rules allow.
            while a.status == Status.submitted.value:
                self.recommend(a, now)
            return True
        if a.status == Status.recommended.value:
            transition(cfg, a, "check_pass", self.holder(a), now=now, opinion="材料齐全，审核通过")
            return True
        if a.status == Status.checked.value and cfg.policies.fee_required:
            transition(cfg, a, "confirm_payment", self.holder(a), now=now,
                       reference=f"RH-{a.id:06d}")
            return True
        return False

    def recommend(self, a: Application, now: datetime) -> None:
        """The holder recommends the file on; city HR first records a directed file's paper."""
        cfg, actor = self.cfg, self.holder(a)
        if directed.applies(a) and directed.is_city_hr(a.holder_org_id) and not \
                db.session.scalar(sa.select(directed.received_at_city(a.id))):
            from ..workflow import paper
            paper.receive(cfg, actor, paper.file_code(a), [x.material for x in a.attachments],
                          now=now)
        transition(cfg, a, "recommend", actor, now=now, opinion="同意推荐", no_objection=True)
        db.session.commit()

    def apply_day(self, t: Track, plan: Plan) -> date:
        """Applicants come over the whole application window, the last on its last working
        day: the k-th of the plan's files applies on the window's evenly spaced working day."""
        if plan.id not in self.apply_days:
            w = plan.window("apply")
            days = [w.opens_on + timedelta(days=i)
                    for i in range((w.closes_on - w.opens_on).days + 1)]
            # Up to the latest day a file can still run the employer's notice before the
            # recommendations close (checks.latest_submission; the report warns of the rest).
            last = checks.latest_submission(
                plan, self.cfg.policies.notice_working_days, self.calendar) or w.closes_on
            days = [d for d in days if self.calendar.is_workday(d) and d <= last] or [w.opens_on]
            # Freelancers and classified files first: the window's last day goes to an
            # ordinary file, whose route (the employer's notice first) needs the most time.
            mine = sorted((x for x in self.tracks if x.case.plan_code == plan.code),
                          key=lambda x: x.case.employer_id is not None and not x.case.classified)
            n = len(mine)
            self.apply_days[plan.id] = {
                id(x): days[round(i * (len(days) - 1) / max(1, n - 1))]
                for i, x in enumerate(mine)}
        return self.apply_days[plan.id][id(t)]

    def create(self, t: Track, plan: Plan, now: datetime) -> Application:
        cfg, c = self.cfg, t.case
        employer = db.session.get(Org, c.employer_id) if c.employer_id else None
        user = User(tenant_id=self.tenant_id, username=f"rh-applicant-{c.n}",
                    name=f"演练申报人{c.n}", role="applicant", person_type=c.person_type,
                    org_id=c.employer_id, association_org_id=c.association_id,
                    password_hash=population.NO_LOGIN)
        db.session.add(user)
        db.session.commit()
        if cfg.policies.profile_verification and not profiles.is_verified(user):
            audit(Actor.system(self.tenant_id), "users", user.id, profiles.VERIFY,
                  reason="演练数据", now=now)
            db.session.commit()
        committee = db.session.scalar(sa.select(Committee).filter_by(
            tenant_id=self.tenant_id, code=c.committee_code))
        a = create_application(cfg, Actor.of(user), user, plan_id=plan.id,
                               committee_id=committee.id, series=c.series, level=c.level,
                               specialty=c.specialty, now=now)
        t.app_id = a.id
        below = level_below(cfg, a.level)
        fields = cfg.policies.freelancer.fields if cfg.policies.freelancer else []
        a.basic = {**a.basic, "gender": "female", "birth_date": f"{self.year - 40}-03-12",
                   "current_title": "", "current_level": below.code if below else "",
                   "title_on": f"{self.year - 12}-09-01", "exam_year": str(self.year - 1),
                   "freelance_field": fields[0].code if fields else "",
                   "freelance_since": f"{self.year - 6}-01-01",
                   **({"classified": True} if c.classified else {})}
        a.exam_passed = True
        db.session.add_all([
            Entry(application_id=a.id, section="education", data={
                "school": "演练大学", "major": "专业", "degree": "硕士研究生",
                "graduated_on": f"{self.year - 18}-07-01"}),
            Entry(application_id=a.id, section="work", data={
                "org_name": employer.name if employer else "自由职业", "position": "专业技术岗位",
                "start": f"{self.year - 18}-08-01", "end": ""}),
        ])
        db.session.flush()
        for m in required_materials(cfg, a):
            for _ in range(max(m.min_count, cfg.policies.poge.min_recommenders
                               if cfg.policies.poge else 1)):
                stored, digest = uploads.store(cfg.slug, self.pdf, "application/pdf")
                db.session.add(Attachment(
                    application_id=a.id, material=m.code, filename=f"{m.code}.pdf",
                    stored_name=stored, mime="application/pdf", size=len(self.pdf),
                    sha256=digest, uploaded_by=user.id))
        db.session.commit()
        return a

    # -- review, results -------------------------------------------------------------------
    @staticmethod
    def group_key(a: Application) -> tuple:
        return (a.committee_id, a.plan_id, a.series, a.level, a.review_mode,
                a.specialty if a.classified else None)

    def review(self, day: date, now: datetime) -> None:
        ready = sessions.ready_status(self.tenant_id)
        self.members: dict[tuple, list[Track]] = {}
        self.unborn: set[tuple] = set()  # (committee code, plan code, series, level) to come
        for t in self.tracks:
            a = self.app(t)
            if a is None:
                c = t.case
                self.unborn.add((c.committee_code, c.plan_code, c.series, c.level))
                continue
            if a.status in LOST:
                continue
            key = self.group_key(a)
            if a.status == ready:
                # A file ready after its group's panel was drawn goes to a session of its own.
                while key in self.groups and self.groups[key].session_id is not None:
                    key = (*key[:6], (key[6] if len(key) > 6 else 0) + 1)
                self.groups.setdefault(key, Group(key))
            self.members.setdefault(key, []).append(t)
        for g in self.groups.values():
            if g.reported:
                continue
            try:
                self.advance(g, day, now)
            except TransitionError as e:
                db.session.rollback()
                g.error = why(e)
                for t in self.tracks_of(g):
                    t.group_error = g.error

    def tracks_of(self, g: Group) -> list[Track]:
        return self.members.get(g.key, [])

    def advance(self, g: Group, day: date, now: datetime) -> None:
        cfg = self.cfg
        committee = db.session.get(Committee, g.key[0])
        plan = db.session.get(Plan, g.key[1])
        agency = self.agency_actor(committee)
        if agency is None:
            raise TransitionError(f"评审服务机构 {committee.agency.name} 没有经办人账号")
        lead = cfg.policies.plan_filing_days_before or 0
        if g.error:
            return  # refused: the reason stands for the group's files
        if g.session_id is None:
            ready = sessions.ready_status(self.tenant_id)
            apps = [self.app(t) for t in self.tracks_of(g)]
            upstream = [a for a in apps if a.status not in (ready, *FINAL)] or (
                committee.code, plan.code, g.key[2], g.key[3]) in self.unborn
            review = plan.window("review")
            last = review.closes_on - timedelta(days=lead + 21)
            if upstream and day < last:
                return  # wait for the group's other files
            held = self.workday(day + timedelta(days=max(lead, 1)))
            panel = self.panel_size(committee, g.key[2], g.key[3], held)
            s = sessions.create_session(cfg, agency, committee_id=committee.id, plan_id=plan.id,
                                        series=g.key[2], level=g.key[3],
                                        specialties=[g.key[5]] if g.key[5] else [],
                                        panel_size=panel, held_on=held)
            g.session_id, g.held_on = s.id, held
            ids = [a.id for a in apps if a.status == ready]
            sessions.add_files(agency, s, ids)
            if lead:
                transition(cfg, s, "file_plan", agency, now=now)
            transition(cfg, s, "draw", agency, now=now)
            return
        s = db.session.get(ReviewSession, g.session_id)
        if not g.voted and day >= g.held_on:
            self.vote(g, s, agency, now)
            g.voted = True
            self.publish_start(s, agency, now)
            return
        if g.voted and not g.reported:
            self.publish_end(g, s, agency, day, now)

    def vote(self, g: Group, s: ReviewSession, agency: Actor, now: datetime) -> None:
        cfg = self.cfg
        active = [m for m in s.members if m.status == "active"]
        for item in s.items:
            if defense.defends(cfg, s.level):  # BJ-DEF-1
                defense.record_defense(cfg, agency, s, item.id, "held", now=now)
        if review_group.uses_review_group(cfg):  # BJ23-PANEL-1
            writer = Actor.of(active[0].expert.user)
            experts.sign_confidentiality(writer, active[0].expert)
            for item in s.items:
                review_group.record_opinion(cfg, writer, s, item,
                                            f"{item.code}：专业技术工作业绩符合评审条件。", [])
        expert_pool.record_training(agency, s, [m.expert_id for m in active])
        chair = Actor.of(next(m for m in active if m.role in sessions.PRESIDING).expert.user)
        transition(cfg, s, "open_voting", chair, present=[m.id for m in active], now=now)
        fail = {t.app_id for t in self.tracks if t.case.fail_ballot}
        for m in active:
            sessions.cast_ballot(Actor.of(m.expert.user), s, {
                i.id: ("no" if i.application_id in fail else "yes") for i in s.items})
        transition(cfg, s, "close", chair, now=now)

    def publish_start(self, s: ReviewSession, agency: Actor, now: datetime) -> None:
        cfg = self.cfg
        pub = results._publication(cfg, s)
        if results.notice_first(cfg):
            transition(cfg, pub, "publicise", agency, now=now)
            return
        transition(cfg, pub, "request", agency, now=now,
                   report="评审会按程序召开，出席委员过半数，表决结果已封存。")
        if results.self_filed(cfg, s):
            transition(cfg, pub, "file", agency, now=now)
        else:
            hr = results.city_hr(s.tenant_id)
            transition(cfg, pub, "accept", self.clerk(hr.id, "hr_officer"), now=now,
                       opinion="验收通过")

    def publish_end(self, g: Group, s: ReviewSession, agency: Actor, day: date,
                    now: datetime) -> None:
        cfg = self.cfg
        pub = results._publication(cfg, s)
        if not results.notice_first(cfg):
            g.reported = True
            return
        if pub.ends_on is None or day <= pub.ends_on:
            return
        for kind in results.missing_documents(cfg, pub):
            results.add_document(cfg, agency, pub, kind, f"{kind}.pdf", self.pdf)
        transition(cfg, pub, "report", agency, now=now, report="公示期间未收到异议。")
        if results.self_filed(cfg, s):
            transition(cfg, pub, "file", agency, now=now)
        else:
            hr = results.city_hr(s.tenant_id)
            transition(cfg, pub, "accept", self.clerk(hr.id, "hr_officer"), now=now,
                       opinion="确认评审结果")
        g.reported = True

    def panel_size(self, committee: Committee, series: str, level: str, day: date) -> int:
        """The usual panel, or as many as the pool can seat (never fewer than a session takes)."""
        from ..models import Expert
        from ..workflow.experts import ineligibility
        pool = db.session.scalars(sa.select(Expert).filter_by(
            tenant_id=self.tenant_id, series=series, status="approved")).all()
        ok = sum(1 for e in pool if not ineligibility(self.cfg, e, level, day))
        return max(population.MIN_PANEL, min(population.PANEL_SIZE, ok))

    def workday(self, day: date) -> date:
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return day


def _pdf() -> bytes:
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()

