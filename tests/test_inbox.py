"""The office inbox's query layer (app/workflow/inbox.py): filters, search through the keyed
hashes, keyset pages with a page jump, counts per status."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.workflow import inbox
from app.workflow.inbox import Filters

from . import factories as f

TODAY = date(2026, 7, 20)
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞",
         "徐亮", "孙丽"]


@pytest.fixture
def office(app):
    """An employer holding twelve files: levels and series alternate, submitted a day apart;
    the first is in its notice."""
    with app.app_context():
        emp = f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        other = f.make_employer("beijing", "emp2", "chaoyang", name="朝阳电子公司")
        ids = []
        for i, name in enumerate(NAMES):
            u = f.make_user("beijing", f"a{i}", "applicant", "emp", name=name,
                            id_number="11010519491231002X" if i == 3 else None)
            level = "intermediate" if i % 2 else "associate_senior"
            series = "engineering" if i % 3 else "economics"
            a = f.make_application("beijing", u, "bj-2026", "bj-eng", series, level,
                                   complete=False)
            a.status = "in_notice" if i == 0 else "submitted"
            a.holder_org_id = emp.id
            a.submitted_at = datetime(2026, 7, 1, 9, tzinfo=timezone.utc) + timedelta(days=i)
            ids.append(a.id)
        # Another employer's file with a name that matches a search: never listed here.
        u = f.make_user("beijing", "x", "applicant", "emp2", name="张伟")
        a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering",
                               "intermediate", complete=False)
        a.status, a.holder_org_id = "submitted", other.id
        db.session.commit()
        yield {"tenant": emp.tenant_id, "org": emp.id, "ids": ids}


def _ids(page):
    return [a.id for a, _ in page.rows]


def test_filters_from_args_drop_bad_values():
    got = Filters.from_args(MultiDict({"plan": "x1", "status": "nonsense", "due": "9999",
                                       "sort": "drop table", "q": "  张  ", "overdue": "1"}))
    assert got.plan is None and got.status is None and got.due == inbox.MAX_DUE_DAYS
    assert got.sort == "submitted" and got.q == "张" and got.overdue
    assert Filters.from_args(MultiDict(), default_status="recommended").status == "recommended"
    # An explicit blank status means all, not the default.
    assert Filters.from_args(MultiDict({"status": ""}), "recommended").status is None
    assert Filters(level="senior", desc=True).args(q="x") == {"level": "senior", "q": "x",
                                                              "dir": "desc"}


def test_level_series_and_status_filters_with_counts(app, office):
    with app.app_context():
        f_ = Filters(level="intermediate", series="engineering")
        p = inbox.page(office["tenant"], office["org"], f_, TODAY)
        expected = [i for n, i in enumerate(office["ids"]) if n % 2 and n % 3]
        assert _ids(p) == expected and p.total == len(expected)
        p = inbox.page(office["tenant"], office["org"], Filters(status="in_notice"), TODAY)
        assert _ids(p) == office["ids"][:1]
        assert p.counts == {"in_notice": 1, "submitted": 11} and p.total == 1


def test_search_by_name_code_mobile_and_id_number(app, office):
    with app.app_context():
        from app.models import User, Application
        t, o = office["tenant"], office["org"]
        assert _ids(inbox.page(t, o, Filters(q="张"), TODAY)) == office["ids"][:1]
        # The employer's name matches every file of the employer.
        assert inbox.page(t, o, Filters(q="精密"), TODAY).total == 12
        assert _ids(inbox.page(t, o, Filters(q=str(office["ids"][5])), TODAY)) == \
            [office["ids"][5]]
        app5 = db.session.get(Application, office["ids"][5])
        mobile = db.session.get(User, app5.applicant_id).mobile
        assert _ids(inbox.page(t, o, Filters(q=mobile[:3] + " " + mobile[3:]), TODAY)) == \
            [office["ids"][5]]
        assert _ids(inbox.page(t, o, Filters(q="11010519491231002x"), TODAY)) == \
            [office["ids"][3]]
        # LIKE wildcards are matched literally.
        assert inbox.page(t, o, Filters(q="%"), TODAY).total == 0


def test_keyset_pages_forward_back_and_jump(app, office):
    with app.app_context():
        t, o = office["tenant"], office["org"]
        f_ = Filters()
        p1 = inbox.page(t, o, f_, TODAY, size=5)
        assert _ids(p1) == office["ids"][:5] and p1.pages == 3 and p1.number == 1
        assert p1.prev_before is None
        p2 = inbox.page(t, o, f_, TODAY, after=p1.next_after, size=5)
        assert _ids(p2) == office["ids"][5:10] and p2.number == 2
        p3 = inbox.page(t, o, f_, TODAY, after=p2.next_after, size=5)
        assert _ids(p3) == office["ids"][10:] and p3.next_after is None and p3.number == 3
        back = inbox.page(t, o, f_, TODAY, before=p3.prev_before, size=5)
        assert _ids(back) == _ids(p2)
        assert _ids(inbox.page(t, o, f_, TODAY, number=3, size=5)) == office["ids"][10:]
        # Newest first, by name, and a jump past the end lands on the last page.
        desc = inbox.page(t, o, Filters(desc=True), TODAY, size=5)
        assert _ids(desc) == office["ids"][::-1][:5]
        nxt = inbox.page(t, o, Filters(desc=True), TODAY, after=desc.next_after, size=5)
        assert _ids(nxt) == office["ids"][::-1][5:10]
        by_name = inbox.page(t, o, Filters(sort="name"), TODAY, size=20)
        names = [a.applicant.name for a, _ in by_name.rows]
        assert names == sorted(names)
        assert inbox.page(t, o, f_, TODAY, number=99, size=5).number == 3


def test_due_overdue_and_due_within(app, office):
    with app.app_context():
        t, o = office["tenant"], office["org"]
        p = inbox.page(t, o, Filters(), TODAY)
        due = {d for _, d in p.rows}
        assert len(due) == 1
        close = due.pop()
        assert close is not None
        days = (close - TODAY).days
        assert inbox.page(t, o, Filters(overdue=True), TODAY).total == (12 if days < 0 else 0)
        if days >= 0:
            assert inbox.page(t, o, Filters(due=days), TODAY).total == 12
            assert inbox.page(t, o, Filters(due=max(days - 1, 0)), TODAY).total == \
                (12 if days == 0 else 0)
        assert inbox.page(t, o, Filters(overdue=True), close + timedelta(days=1)).total == 12


def test_review_mode_filter(app, office):
    with app.app_context():
        from app.models import Application
        t, o = office["tenant"], office["org"]
        a = db.session.get(Application, office["ids"][0])
        mode = a.review_mode
        assert inbox.page(t, o, Filters(mode=mode), TODAY).total == 12
        assert inbox.page(t, o, Filters(mode="no-such-mode"), TODAY).total == 0


def test_sort_by_due_date_orders_and_pages_by_the_deadline(app, office):
    """Files of different statuses have different deadlines (the office's review window, the
    agency's check, none at all): sorted by due date they come in its order, across keyset
    pages both ways, and the export's order (inbox.ordered) is the same."""
    from app.models import Application
    with app.app_context():
        t, o = office["tenant"], office["org"]
        for i, app_id in enumerate(office["ids"][:6]):
            db.session.get(Application, app_id).status = ("recommended", "in_review")[i % 2]
        db.session.commit()
        dues = {d for _, d in inbox.page(t, o, Filters(), TODAY).rows}
        assert len(dues) == 3 and None in dues  # the test means something only then
        last = date(9999, 12, 31)
        for desc in (False, True):
            f_ = Filters(sort="due", desc=desc)
            seen, page = [], inbox.page(t, o, f_, TODAY, size=5)
            while True:
                seen += page.rows
                if page.next_after is None:
                    break
                page = inbox.page(t, o, f_, TODAY, after=page.next_after, size=5)
            keys = [(d or last, a.id) for a, d in seen]
            assert len(keys) == 12 and keys == sorted(keys, reverse=desc)
            back = inbox.page(t, o, f_, TODAY, before=page.prev_before, size=5)
            assert [a.id for a, _ in back.rows] == [a.id for a, _ in seen[5:10]]
            exported = db.session.execute(inbox.ordered(inbox.filtered(t, o, f_, TODAY), f_))
            assert [a.id for a, _ in exported] == [a.id for a, _ in seen]


def test_the_due_date_is_the_window_each_status_calls_for(app, office):
    """The due column against the rule written out: the office's review window for a file at
    an office (employer review, else the tier report), the agency's check while a correction is
    under way or once recommended, the review window once paid, none otherwise. Beijing's plan
    has an employer review window; with it removed the tier report stands in."""
    from app.models import Application, PlanWindow
    cases = [("submitted", None), ("submitted", date(2026, 7, 30)), ("in_notice", None),
             ("recommended", None), ("checked", None), ("paid", None), ("in_review", None)]
    with app.app_context():
        t, o = office["tenant"], office["org"]
        for app_id, (status, correction) in zip(office["ids"], cases):
            a = db.session.get(Application, app_id)
            a.status, a.correction_due = status, correction
        db.session.commit()
        plan = db.session.get(Application, office["ids"][0]).plan

        def expected(a):
            def closes(stage):
                w = plan.window(stage)
                return w.closes_on if w else None
            if a.status in ("submitted", "in_notice"):
                return closes("agency_check") if a.correction_due else \
                    (closes("employer_review") or closes("tier_report"))
            return {"recommended": closes("agency_check"), "paid": closes("review")}.get(a.status)

        def check(round_):
            got = {a.id: (a, d) for a, d in inbox.page(t, o, Filters(), TODAY).rows}
            for app_id in office["ids"][:len(cases)]:
                row, due = got[app_id]
                assert due == expected(db.session.get(Application, app_id)), (round_, row.status)
            return {d for _, d in got.values()} - {None}

        # Every window Beijing's plan has: the office's is the employer review.
        assert plan.window("employer_review") is not None
        assert len(check("as configured")) >= 3  # three windows at least: not vacuous
        # A plan whose offices report by the tier report (no employer review of its own).
        db.session.delete(plan.window("employer_review"))
        db.session.add(PlanWindow(plan_id=plan.id, stage="tier_report",
                                  opens_on=date(2026, 7, 1), closes_on=date(2026, 8, 3)))
        db.session.commit()
        db.session.refresh(plan)
        assert date(2026, 8, 3) in check("tier report")


def busy_office(office, files: int = 400) -> None:
    """Many more of the tenant's files at another office, and fresh statistics: the planner
    then sees one office's files as the few they are in a real year."""
    from app.models import Application, Org
    model = db.session.get(Application, office["ids"][1])
    other = db.session.scalar(sa.select(Application.holder_org_id).where(
        Application.holder_org_id != office["org"], Application.holder_org_id.is_not(None)))
    row = {c: getattr(model, c) for c in ("tenant_id", "applicant_id", "plan_id", "committee_id",
                                          "series", "level", "person_type", "route", "basic",
                                          "submitted_at")}
    units = db.session.scalars(sa.select(Org.id).where(Org.tenant_id == model.tenant_id,
                                                       Org.id != office["org"])).all()
    db.session.execute(sa.insert(Application), [
        {**row, "status": "submitted", "route_pos": 1, "holder_org_id": other,
         "employer_org_id": units[i % len(units)]} for i in range(files)])
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def test_the_list_queries_read_the_held_files_indexes(app, office):
    """The office indexes hold only files with a holder (a close writes no entry in them);
    every statement of a page that reads applications by holder is planned on one of them."""
    seen = []
    with app.app_context():
        busy_office(office)

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "holder_org_id" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            inbox.page(office["tenant"], office["org"], Filters(), TODAY)
            inbox.page(office["tenant"], office["org"], Filters(status="submitted"), TODAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        assert seen
        for statement, parameters in seen:
            assert "ix_applications_holder" in planned(statement, parameters), statement


def planned(statement: str, parameters) -> str:
    """The database's plan for `statement`, as one string (on PostgreSQL with sequential scans
    disabled: a few hundred rows would rather be read whole, the test asks which index serves)."""
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.connect() as conn:
        if postgres:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        return " ".join(str(r) for r in conn.exec_driver_sql(explain + statement, parameters))


def test_closes_reminders_and_quotas_read_their_indexes(app, office):
    """A deadline close and a reminder find a plan's files in a status by the tenant's status
    index, and the post quotas a unit's sent files by the unit index, which holds no draft."""
    from app.models import Application, Plan
    from app.tenancy import config_for
    from app.workflow.deadlines import CLOSES, of_plan
    from app.workflow.quotas import recommended_counts
    from app.workflow.reminders import open_where
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM applications" in statement:
            seen.append((statement, parameters))
    with app.app_context():
        busy_office(office)
        plan = db.session.scalar(sa.select(Plan).where(Plan.code == "bj-2026"))
        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            for close in CLOSES["apply"]:
                db.session.execute(sa.select(Application.id).where(
                    *of_plan(plan), Application.status == close.from_state, *close.conditions()))
                db.session.execute(sa.select(Application.id).where(*open_where(plan, close)))
            recommended_counts(config_for(office["tenant"]), office["tenant"], [office["org"]],
                               2026)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        *by_status, by_unit = seen
        assert len(by_status) == 2 * len(CLOSES["apply"]) and "employer_org_id" in by_unit[0]
        for statement, parameters in by_status:
            assert "ix_applications_tenant_status_plan" in planned(statement, parameters)
        assert "ix_applications_employer_sent" in planned(*by_unit)
