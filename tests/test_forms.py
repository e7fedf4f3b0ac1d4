"""Forms a committee can file, the personal pledge signed at submission, and the 花名册 columns
(seed 004 四(一)2, 四(二)1, 四(三)3–4, 六(一)1; seed 000 三(一)2, 四(一)).

A full Chifeng application (every section filled) is submitted through the page with the pledge
ticked, recommended by its employer and then by the county HR office; its 评审表 and 送审表 are
read page by page, and the county office's roster row by row."""
import io
import re

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from app.extensions import db
from app.models import Application, AuditEvent, Entry, Status
from app.models.notify import Outbox
from app.tenancy import tenants
from app.workflow import paper, pledge
from app.workflow.reports import generate, read as read_report
from app.workflow.errors import Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_results import accept, closed  # noqa: F401 (a fixture)

T = "chifeng"
SUBMIT, NOTICE_OVER, HR_DAY = (2026, 5, 12, 9), (2026, 5, 20, 10), (2026, 5, 21, 15)
NAME = "欧阳建国"
ACHIEVEMENTS = {
    "papers": {"title": "大型减速机齿轮疲劳寿命分析", "journal": "机械工程学报", "year": "2024",
               "coauthors": "李明"},
    "awards": {"name": "赤峰市科学技术进步奖", "grade": "二等奖（第2名）", "year": "2023"},
    "patents": {"title": "一种齿轮箱散热装置", "number": "ZL202310001234.5", "year": "2023"},
    "projects": {"name": "矿山提升机节能改造", "role": "技术负责人", "year": "2022",
                 "members": "王强"},
}


def cfg():
    return tenants()[T]


def pages_of(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def visible(page: str) -> str:
    """A page's text without its tags."""
    return re.sub(r"<[^>]+>", "", page)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def full_file(app, client, login):
    """A complete 初级 file in Songshan, submitted with the pledge, recommended by the employer
    after its notice and by the county HR office. Yields its id."""
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan", name="松山区北方重型机械制造有限责任公司")
        f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm", name="李审核")
        f.make_user(T, "cf-hr", "hr_officer", "cf-hr-songshan", name="王复审")
        u = f.make_user(T, "cf-p", "applicant", "cf-firm", name=NAME,
                        id_number=f.ID_NUMBERS[1])
        a = f.make_application(T, u, "cf-2026-junior", "cf-eng", "engineering",
                               "junior_assistant", "mechanical", materials={"achievements": 2})
        a.basic = {**a.basic, "current_title": "机械技术员", "current_level": "junior_staff",
                   "title_on": "2019-12-31", "birth_date": "1990-03-03"}
        db.session.add(Entry(application_id=a.id, section="education", data={
            "school": "内蒙古工业大学", "major": "机械设计制造及其自动化", "degree": "本科学士",
            "graduated_on": "2012-07-01", "edu_level": "bachelor"}))
        for section, data in ACHIEVEMENTS.items():
            db.session.add(Entry(application_id=a.id, section=section, data=data))
        db.session.commit()
        app_id = a.id
    with time_machine.travel(at(*SUBMIT), tick=False):
        login(T, "cf-p")
        client.post(f"/{T}/me/applications/{app_id}/submit", data={"version": 1, "pledge": "2026.1"})
        client.post(f"/{T}/logout")
        with app.app_context():
            a = db.session.get(Application, app_id)
            assert a.status == Status.submitted.value
            clerk = db.session.scalar(sa.select(f.User).filter_by(username="cf-clerk"))
            transition(cfg(), a, "start_notice", f.actor(clerk))
    with app.app_context(), time_machine.travel(at(*NOTICE_OVER), tick=False):
        a = db.session.get(Application, app_id)
        clerk = db.session.scalar(sa.select(f.User).filter_by(username="cf-clerk"))
        transition(cfg(), a, "recommend", f.actor(clerk), opinion="经审核，材料真实完整，同意推荐。",
                   no_objection=True)
    with app.app_context(), time_machine.travel(at(*HR_DAY), tick=False):
        a = db.session.get(Application, app_id)
        hr = db.session.scalar(sa.select(f.User).filter_by(username="cf-hr"))
        assert a.holder_org_id == hr.org_id
        transition(cfg(), a, "recommend", f.actor(hr), opinion="岗位情况属实，同意上报。")
    yield app_id


# -- the pledge ---------------------------------------------------------------------------------

@pytest.mark.rule("CF-PLEDGE-1")
def test_chifeng_submission_without_the_pledge_is_refused_with_the_reason(app, client, login):
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        u = f.make_user(T, "cf-p", "applicant", "cf-firm")
        app_id = f.make_application(T, u, "cf-2026-junior", "cf-eng", "engineering",
                                    "junior_assistant", "mechanical",
                                    materials={"achievements": 1}).id
        paragraphs = cfg().pledge.text
    with time_machine.travel(at(*SUBMIT), tick=False):
        login(T, "cf-p")
        page = client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True)
        # The pledge is shown in full with a required box beside the submit button.
        assert "个人承诺书" in page and 'name="pledge" value="2026.1" required' in page
        assert all(para in page for para in paragraphs)
        resp = client.post(f"/{T}/me/applications/{app_id}/submit", data={"version": 1},
                           follow_redirects=True)
        assert "请阅读并勾选“个人承诺书”后再提交" in resp.get_data(as_text=True)
        # A pledge of another version (the page was open while the tenant changed it) is not it.
        resp = client.post(f"/{T}/me/applications/{app_id}/submit",
                           data={"version": 1, "pledge": "2025.1"}, follow_redirects=True)
        assert "已更新，请重新阅读并勾选后再提交" in resp.get_data(as_text=True)
        with app.app_context():
            a = db.session.get(Application, app_id)
            assert a.status == Status.draft.value and a.pledge_signed_at is None
            assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
                subject_type="applications", action="submit")) == 0
        client.post(f"/{T}/me/applications/{app_id}/submit",
                    data={"version": 1, "pledge": "2026.1"})
        with app.app_context():
            a = db.session.get(Application, app_id)
            assert a.status == Status.submitted.value
            text = "\n".join(paragraphs)
            assert (a.pledge_version, a.pledge_text) == ("2026.1", text)
            assert a.pledge_sha256 == pledge.digest(text) and len(a.pledge_sha256) == 64
            assert a.pledge_signed_at == at(*SUBMIT)
        page = client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True)
        assert "已签署个人承诺书（版本2026.1，2026-05-12 09:00）" in page


@pytest.mark.rule("BJ-PLEDGE-1")
def test_beijing_applicant_signs_the_integrity_pledge_and_the_employer_sees_it(
        app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "bj-clerk", "employer_clerk", "emp")
        u = f.make_user("beijing", "bj-p", "applicant", "emp")
        app_id = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering",
                                    "intermediate", "mechanical").id
        bj = tenants()["beijing"]
        assert bj.pledge.title == "个人诚信承诺"
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "bj-p")
        page = client.get(f"/beijing/me/applications/{app_id}").get_data(as_text=True)
        assert "个人诚信承诺" in page and "记录期限为3年" in page
        resp = client.post(f"/beijing/me/applications/{app_id}/submit", data={"version": 1},
                           follow_redirects=True)
        assert "请阅读并勾选“个人诚信承诺”后再提交" in resp.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(Application, app_id).status == Status.draft.value
        client.post(f"/beijing/me/applications/{app_id}/submit",
                    data={"version": 1, "pledge": bj.pledge.version})
        client.post("/beijing/logout")
        with app.app_context():
            a = db.session.get(Application, app_id)
            assert a.status == Status.submitted.value
            assert a.pledge_version == bj.pledge.version
            assert a.pledge_sha256 == pledge.digest("\n".join(bj.pledge.text))
            assert "剽窃他人作品" in a.pledge_text
        # The employer reviewing the file sees what was signed and when.
        login("beijing", "bj-clerk")
        page = client.get(f"/beijing/office/applications/{app_id}").get_data(as_text=True)
        assert f"个人诚信承诺（版本{bj.pledge.version}）已于2026-07-10 10:00签署" in page


@pytest.mark.rule("BJ-PLEDGE-1")
def test_the_pledge_reads_in_the_readers_language_but_the_chinese_text_is_signed(ctx):
    from flask_babel import force_locale
    bj = tenants()["beijing"]
    with ctx.test_request_context(), force_locale("en"):
        shown = pledge.shown(bj)
        assert shown["title"] == "Personal integrity pledge" and shown["text"] == bj.pledge.text_en
        assert shown["consent"] == bj.pledge.consent_en
        assert pledge.signed(bj, bj.pledge.version, at(2026, 7, 10, 10))["pledge_text"] == \
            "\n".join(bj.pledge.text)
    with ctx.test_request_context(), force_locale("zh_Hans_CN"):
        assert pledge.shown(bj)["text"] == bj.pledge.text


# -- the 评审表 -----------------------------------------------------------------------------------

@pytest.mark.rule("CF-FORMS-1", "CF-UNIT-1", "CF-PLEDGE-1")
def test_review_form_carries_the_whole_file_and_a_box_per_step(app, client, login, full_file):
    with app.app_context():
        a = db.session.get(Application, full_file)
        code = paper.file_code(a)
        signed = a.pledge_sha256
        paragraphs = cfg().pledge.text
        boxes_expected = len({s["org_id"] for s in a.route})
    login(T, "cf-p")
    resp = client.get(f"/{T}/paper/applications/{full_file}/review.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pages = pages_of(resp.data)
    assert len(pages) >= 2
    # Every page: the file code and "page n of N" at its foot.
    for n, text in enumerate(pages, 1):
        assert code in text
        assert f"{n}/{len(pages)}" in flat(text)
    whole = "\n".join(pages)
    # The sections in order, each on the page it starts on.
    heads = ["一、基本情况", "二、学历", "三、工作经历", "四、业绩成果", "五、材料目录单",
             "六、个人承诺", "七、审核意见"]
    where = [next(i for i, p in enumerate(pages) if h in p) for h in heads]
    assert where == sorted(where)
    assert [whole.index(h) for h in heads] == sorted(whole.index(h) for h in heads)

    def section(head: str) -> str:
        i = heads.index(head)
        start = whole.index(head)
        end = whole.index(heads[i + 1]) if i + 1 < len(heads) else len(whole)
        return flat(whole[start:end])

    basic = section("一、基本情况")
    for value in (NAME, "男", "1990-03-03", "110*************21", "松山区北方重型机械制造有限责任公司",
                  "专业技术人员", "本科学士", "机械技术员", "2019-12-31", "工程", "机械", "助理级",
                  "线上盲审盲评，另交完整纸质材料", "按一般条件申报"):
        assert flat(value) in basic, value
    # Names are printed whole, never broken character by character across lines.
    lines = whole.splitlines()
    for name in (NAME, "李审核", "王复审"):
        assert any(name in line for line in lines), name
    assert all(flat(v) in section("二、学历") for v in ("内蒙古工业大学", "机械设计制造及其自动化",
                                                      "2012-07-01", "北京工业大学"))
    assert all(v in section("三、工作经历") for v in ("单位", "工程师", "2007-08-01"))
    achieved = section("四、业绩成果")
    for data in ACHIEVEMENTS.values():
        for value in data.values():
            assert flat(value) in achieved, value
    assert all(t in achieved for t in ("论文著作", "获奖", "专利", "项目", "佐证材料目录"))
    listed = section("五、材料目录单")
    assert "achievements-0.pdf、achievements-1.pdf" in listed and "业绩成果佐证材料" in listed
    assert listed.index("学历学位证书") < listed.index("业绩成果佐证材料")
    promised = section("六、个人承诺")
    assert "个人承诺书" in promised
    assert all(flat(p) in promised for p in paragraphs)
    assert flat("申报人已于2026-05-12 09:00在线签署（版本2026.1）") in promised
    assert signed in promised
    # The step boxes: the employer's and the county HR office's filled from their steps, the
    # committee's left for it to fill; each with room for the seal.
    boxes = section("七、审核意见")
    employer = boxes[boxes.index("用人单位审核推荐意见"):boxes.index("人力资源社会保障部门审核意见")]
    for value in ("松山区北方重型机械制造有限责任公司", "李审核", "开始单位公示", "2026-05-12",
                  "推荐：经审核，材料真实完整，同意推荐。", "2026-05-20", "（单位盖章）"):
        assert value in employer, value
    hr = boxes[boxes.index("人力资源社会保障部门审核意见"):boxes.index("评审委员会（办事机构）复核意见")]
    for value in ("松山区人力资源和社会保障局", "王复审", "推荐：岗位情况属实，同意上报。", "2026-05-21",
                  "（单位盖章）"):
        assert value in hr, value
    committee = boxes[boxes.index("评审委员会（办事机构）复核意见"):]
    assert "审核人审核日期：" in committee and "（单位盖章）" in committee
    assert boxes.count("（单位盖章）") == boxes_expected


# -- the 送审表 -----------------------------------------------------------------------------------

@pytest.mark.rule("CF-FORMS-1", "CF-PAPER-1", "CF-PLEDGE-1")
def test_delivery_form_lists_the_checklist_with_counts_and_receipt_signatures(
        app, client, login, full_file):
    with app.app_context():
        a = db.session.get(Application, full_file)
        code = paper.file_code(a)
        route = [db.session.get(f.Org, s["org_id"]).name for s in a.route]
        items = paper.checklist(cfg(), a)
    login(T, "cf-p")
    pages = pages_of(client.get(f"/{T}/paper/applications/{full_file}/send.pdf").data)
    for n, text in enumerate(pages, 1):
        assert code in text and f"{n}/{len(pages)}" in flat(text)
    whole = flat("\n".join(pages))
    assert "送审表" in whole and "评审表" not in whole.replace("送审表", "")
    # Basic information on the delivery form, but not the entries of the review form.
    assert NAME in whole and "助理级" in whole and "大型减速机齿轮疲劳寿命分析" not in whole
    listed = whole[whole.index("材料目录单"):whole.index("个人承诺")]
    assert "序号材料名称网上已上传份数纸质份数" in listed
    for n, item in enumerate(items, 1):
        row = f"{n}{item['name']}{'、'.join(item['files']) or '—'}{len(item['files'])}"
        assert flat(row) in listed, row
    assert f"合计{len(items)}类材料{sum(len(i['files']) for i in items)}" in listed
    assert "用A4纸按材料目录单顺序装订成册" in whole
    assert flat("申报人已于2026-05-12 09:00在线签署（版本2026.1）") in whole
    receipt = whole[whole.index("报送及接收"):]
    assert "接收单位接收材料（份）接收人（签字）接收日期" in receipt
    assert [receipt.index(flat(name)) for name in route] == sorted(
        receipt.index(flat(name)) for name in route)
    assert "报送人（签字）：" in receipt and "报送日期：" in receipt


# -- the 花名册 -----------------------------------------------------------------------------------

@pytest.mark.rule("CF-REPORT-1", "CF-UNIT-1")
def test_roster_has_the_columns_an_office_expects(app, full_file):
    with app.app_context(), time_machine.travel(at(2026, 5, 22, 9), tick=False):
        hr = f.org(T, "cf-hr-songshan")
        plan = f.plan(T, "cf-2026-junior")
        made = generate(cfg(), T, hr.tenant_id, hr.id, plan.id)
        roster = next(r for r in made if r.kind == "roster")
        assert roster.level == "junior_assistant" and roster.rows == 1
        rows = [tuple(r) for r in load_workbook(io.BytesIO(read_report(T, roster.stored_name))).active
                .iter_rows(values_only=True)]
    assert "助理级" in rows[0][0] and rows[1][0].endswith("松山区人力资源和社会保障局")
    assert rows[2] == ("序号", "姓名", "性别", "出生日期", "工作单位", "学历", "现职称",
                       "取得现职称日期", "系列", "专业", "申报级别", "评审方式", "申报政策",
                       "推荐意见", "审核人", "审核日期")
    assert rows[3][0] == "系列：工程" and rows[4][0] == "专业：机械"
    assert rows[5] == (1, NAME, "男", "1990-03-03", "松山区北方重型机械制造有限责任公司", "本科学士",
                       "机械技术员", "2019-12-31", "工程", "机械", "助理级",
                       "线上盲审盲评，另交完整纸质材料", "按一般条件申报", "岗位情况属实，同意上报。",
                       "王复审", "2026-05-21")


# -- notice periods -------------------------------------------------------------------------------

@pytest.mark.rule("CF-UNIT-1")
def test_employer_notice_is_shown_counted_the_same_way_everywhere(app, client, login):
    """Posted on Tuesday 12 May 2026: five working days counted from the 13th, ending on the
    19th at 24:00 — on the office's list and file, the applicant's page and the recorded step."""
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm")
        u = f.make_user(T, "cf-p", "applicant", "cf-firm")
        a = f.make_application(T, u, "cf-2026-junior", "cf-eng", "engineering",
                               "junior_assistant", "mechanical", materials={"achievements": 1})
        with time_machine.travel(at(*SUBMIT), tick=False):
            transition(cfg(), a, "submit", f.actor(u), pledge="2026.1")
            # Before posting, the office is told what a notice posted today would run.
            login(T, "cf-clerk")
            page = client.get(f"/{T}/office/applications/{a.id}").get_data(as_text=True)
            assert "今日开始公示的，公示期为5 个工作日，自 2026-05-13 起算，至 2026-05-19 24:00 止。" in page
            transition(cfg(), a, "start_notice", f.actor(clerk))
        app_id = a.id
        step = a.steps[-1]
        assert (a.notice_starts_on.isoformat(), a.notice_ends_on.isoformat()) == (
            "2026-05-12", "2026-05-19")
        assert step.opinion == "单位内部公示：5 个工作日，自 2026-05-13 起算，至 2026-05-19 24:00 止。"
        # The applicant is told by SMS in the same words, queued with the change.
        (sms,) = db.session.scalars(sa.select(Outbox).filter_by(channel="sms")).all()
        assert sms.recipient == u.mobile and sms.dedupe_key.startswith(f"notice:{a.id}:")
        assert "公示期：5 个工作日，自 2026-05-13 起算，至 2026-05-19 24:00 止。" in sms.body
    shown = "公示期：5 个工作日，自 2026-05-13 起算，至 2026-05-19 24:00 止"
    with time_machine.travel(at(2026, 5, 14, 9), tick=False):
        client.post(f"/{T}/logout")
        login(T, "cf-clerk")
        assert shown in visible(client.get(f"/{T}/office/applications/{app_id}").get_data(as_text=True))
        assert shown in visible(client.get(f"/{T}/office/").get_data(as_text=True))
        client.post(f"/{T}/logout")
        login(T, "cf-p")
        assert shown in visible(client.get(f"/{T}/me/applications/{app_id}").get_data(as_text=True))
        page = visible(client.get(f"/{T}/me/applications/{app_id}?lang=en").get_data(as_text=True))
        assert "5 working days, counted from 2026-05-13, ending 2026-05-19 24:00" in page


@pytest.mark.rule("CF-UNIT-1")
def test_a_period_across_a_holiday_counts_working_days_only(ctx):
    from app.workflow.notice_period import period, starting
    # Posted on Wednesday 30 September 2026: the National Day holiday is not counted.
    p = starting(cfg(), at(2026, 9, 30).date(), 5)
    assert p.first > at(2026, 10, 7).date() and p.days == 5
    assert period(cfg(), at(2026, 9, 30).date(), p.last) == p
    with ctx.test_request_context():
        assert p.text() == (f"5 个工作日，自 {p.first.isoformat()} 起算，"
                            f"至 {p.last.isoformat()} 24:00 止")


@pytest.mark.rule("BJ-ACC-1")
def test_public_results_notice_and_objection_page_show_the_same_counting(app, closed):
    """Accepted on Monday 23 November 2026: five working days counted from the 24th, ending on
    the 30th at 24:00, on the public notice and on the objection page."""
    pub = accept(closed)
    assert (pub.starts_on.isoformat(), pub.ends_on.isoformat()) == ("2026-11-23", "2026-11-30")
    shown = "公示期：5 个工作日，自 2026-11-24 起算，至 2026-11-30 24:00 止"
    anon = app.test_client()
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        page = visible(anon.get("/beijing/results/").get_data(as_text=True))
        assert shown in page
        page = visible(anon.get(f"/beijing/results/notices/{pub.id}/objections/"
                                f"{closed['passed'].id}").get_data(as_text=True))
        assert shown in page


@pytest.mark.rule("BJ-PLEDGE-1")
def test_a_pledge_file_missing_a_translation_or_with_a_bad_version_is_reported(tmp_path):
    from app.tenancy import TenantConfigError, load_tenant

    from .test_tenancy import copy_tenant
    folder = copy_tenant(tmp_path)
    path = folder / "pledge.toml"
    good = path.read_text(encoding="utf-8")
    assert load_tenant(folder).pledge.version == "2026.1"
    path.write_text(good.replace('version = "2026.1"', 'version = "2026 一"'), encoding="utf-8")
    with pytest.raises(TenantConfigError, match=r"pledge.toml: key version"):
        load_tenant(folder)
    # One English paragraph fewer than the Chinese: refused, not half translated.
    last_en = good.index('  "If I break this pledge')
    path.write_text(good[:last_en] + good[good.index("]", last_en):], encoding="utf-8")
    with pytest.raises(TenantConfigError, match=r"pledge.toml: .*same number of paragraphs"):
        load_tenant(folder)


@pytest.mark.rule("BJ-PLEDGE-1")
def test_the_transition_service_itself_refuses_a_submission_without_the_pledge(ctx):
    """The pledge is a condition of the state change, not of the page: a submission made any
    other way than through the form is refused too, and leaves the file and the audit as they
    were."""
    f.make_employer("beijing", "emp", "haidian")
    user = f.make_user("beijing", "a1", "applicant", "emp")
    row = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                             "intermediate", "mechanical")
    bj = tenants()["beijing"]
    audit = sa.select(sa.func.count(AuditEvent.id)).filter_by(
        subject_type="applications", subject_id=row.id, action="submit")
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        for given in (None, "", "2025.1"):
            with pytest.raises(Invalid, match="个人诚信承诺"):
                transition(bj, row, "submit", f.actor(user), pledge=given)
            db.session.rollback()
            row = db.session.get(Application, row.id)
            assert row.status == Status.draft.value and row.pledge_signed_at is None
            assert db.session.scalar(audit) == 0
        transition(bj, row, "submit", f.actor(user), pledge=f.PLEDGE)
    assert row.status != Status.draft.value and row.pledge_version == f.PLEDGE
    assert db.session.scalar(audit) == 1
