"""The office lists' pages (app/inbox_page.py): the filter form kept in the URL, htmx swapping the
list alone, counts and pager links that keep the filters, each file's next action and deadline,
tenant isolation, and the English page."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from app.extensions import db
from app.models import Application

from . import factories as f
from .conftest import at

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞",
         "徐亮", "孙丽"]
TODAY = (2026, 7, 20, 10)  # the employer's review window closes on 2026-08-06


def _held(org, user, status: str, i: int, *, level="intermediate", series="engineering",
          slug="beijing", plan="bj-2026", committee="bj-eng", kind="employer") -> Application:
    a = f.make_application(slug, user, plan, committee, series, level, complete=False)
    a.status, a.holder_org_id = status, org.id
    a.route, a.route_pos = [{"kind": kind, "org_id": org.id}], 0
    a.submitted_at = datetime(2026, 7, 8, 9, tzinfo=timezone.utc) + timedelta(hours=i)
    return a


@pytest.fixture
def office(app):
    """An employer holding twelve files (levels and series alternating, the first three in
    their notice: one running, two over), another employer of the tenant holding one, and a
    Chifeng employer holding one."""
    with app.app_context():
        emp = f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        other = f.make_employer("beijing", "emp2", "chaoyang", name="朝阳电子公司")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        ids = []
        for i, name in enumerate(NAMES):
            u = f.make_user("beijing", f"a{i}", "applicant", "emp", name=name)
            a = _held(emp, u, "submitted", i,
                      level="intermediate" if i % 2 else "associate_senior",
                      series="engineering" if i % 3 else "economics")
            if i < 3:
                a.status = "in_notice"
                a.notice_starts_on = date(2026, 7, 13)
                a.notice_ends_on = date(2026, 7, 24) if i == 0 else date(2026, 7, 17)
            ids.append(a.id)
        stranger = _held(other, f.make_user("beijing", "x", "applicant", "emp2", name="钱多多"),
                         "submitted", 0)
        cf = f.make_employer("chifeng", "cf-emp", "hongshan", name="赤峰某厂")
        cf_app = _held(cf, f.make_user("chifeng", "cf-a", "applicant", "cf-emp", name="孙悟空"),
                       "submitted", 0, slug="chifeng", plan="cf-2026-intermediate",
                       committee="cf-eng")
        db.session.commit()
        return {"ids": ids, "emp": emp.id, "other": other.id, "stranger": stranger.id,
                "cf_emp": cf.id, "cf_app": cf_app.id, "cf_plan": cf_app.plan_id}


def _rows(html: str) -> list[int]:
    """The file ids listed, in order (the batch checkboxes)."""
    return [int(n) for n in re.findall(r'name="ids" value="(\d+)"', html)]


def _href(html: str, text: str) -> str:
    """The URL of the link whose text starts with `text`."""
    m = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(text), html)
    assert m, text
    return unescape(m.group(1))


def _args(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def test_the_filter_form_round_trips_in_the_url(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        url = ("/beijing/office/?level=intermediate&series=engineering&q=&plan=&status="
               "&sort=name&dir=desc&due=30")
        # The form sent without JavaScript names its blank fields too: the same list comes
        # back under its short URL.
        sent = client.get(url)
        assert sent.status_code == 302
        assert _args(sent.location) == {"level": "intermediate", "series": "engineering",
                                        "sort": "name", "dir": "desc", "due": "30"}
        html = client.get(sent.location).get_data(as_text=True)
        ascending = client.get(sent.location.replace("&dir=desc", "")).get_data(as_text=True)
        # htmx gets the list at once, and the short URL to push.
        frag = client.get(url, headers={"HX-Request": "true"})
        assert frag.status_code == 200 and frag.headers["HX-Push-Url"] == sent.location
    expected = [i for n, i in enumerate(office["ids"]) if n % 2 and n % 3]
    names = [NAMES[office["ids"].index(i)] for i in expected]
    assert sorted(_rows(html)) == sorted(expected) and "共%d件" % len(expected) in html
    listed = re.findall(r'hx-boost="false">([^<]+)</a>', html)
    assert sorted(listed) == sorted(names)
    assert listed == re.findall(r'hx-boost="false">([^<]+)</a>', ascending)[::-1]
    # The form shows what the URL asked for, so submitting it again asks the same.
    form = html.split('id="filters"')[1].split("</form>")[0]
    assert re.search(r'<option value="intermediate" selected>', form)
    assert re.search(r'<option value="engineering" selected>', form)
    assert re.search(r'<option value="name" selected>', form)
    assert re.search(r'<option value="desc" selected>', form)
    assert 'name="due" min="0" max="366" inputmode="numeric" value="30"' in form
    assert 'hx-get="/beijing/office/"' in form and 'hx-push-url="true"' in form
    assert 'hx-target="#list"' in form and 'method="get"' in form
    # The search box says what it searches.
    assert "姓名、申报编号、单位、身份证号或手机号" in form
    # Choices come from the tenant's config, with their labels; the employers held only.
    assert '<option value="robotics">机器人</option>' in form
    assert '<option value="haidian">海淀区</option>' in form
    assert "朝阳电子公司" not in form and "赤峰某厂" not in form


def test_htmx_gets_only_the_list(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        frag = client.get("/beijing/office/?level=intermediate",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        full = client.get("/beijing/office/?level=intermediate").get_data(as_text=True)
        # A history restore gets the whole page (the form's values included).
        restore = client.get("/beijing/office/?level=intermediate",
                             headers={"HX-Request": "true",
                                      "HX-History-Restore-Request": "true"}).get_data(as_text=True)
    assert frag.startswith('<div id="list"') and "<html" not in frag and 'id="filters"' not in frag
    assert _rows(frag) == _rows(full) and len(_rows(frag)) == 6
    assert "<html" in full and 'id="filters"' in full and 'hx-history="false"' in full
    assert "<html" in restore
    assert "<script>" not in full and "style=" not in full


def test_counts_per_status_link_with_the_other_filters(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        html = client.get("/beijing/office/?series=engineering&q=精密").get_data(as_text=True)
        counts = html.split('class="inline counts"')[1].split("</p>")[0]
        assert "单位公示中 (2)" in counts and "待审核 (6)" in counts and "全部 (8)" in counts
        link = _href(counts, "单位公示中")
        assert _args(link) == {"series": "engineering", "q": "精密", "status": "in_notice"}
        page = client.get(link).get_data(as_text=True)
        assert sorted(_rows(page)) == [office["ids"][1], office["ids"][2]]
        # The status chosen by a link shows in the form too (swapped out of band for htmx).
        frag = client.get(link, headers={"HX-Request": "true", "HX-Boosted": "true"})
        assert 'id="filter-status" hx-swap-oob="true"' in frag.get_data(as_text=True)
        assert '<option value="in_notice" selected>' in frag.get_data(as_text=True)


def test_next_previous_and_jump_keep_the_filters(app, client, login, office, monkeypatch):
    from app.workflow import inbox
    monkeypatch.setattr(inbox, "PAGE_SIZE", 4)
    monkeypatch.setattr(inbox.page, "__kwdefaults__", {**inbox.page.__kwdefaults__, "size": 4})
    ids = office["ids"]
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        first = client.get("/beijing/office/?q=精密").get_data(as_text=True)
        assert _rows(first) == ids[:4] and "第1页，共3页" in first
        assert "上一页" not in first
        nxt = _href(first, "下一页")
        assert _args(nxt)["q"] == "精密" and "after" in _args(nxt)
        second = client.get(nxt).get_data(as_text=True)
        assert _rows(second) == ids[4:8] and "第2页，共3页" in second
        third = client.get(_href(second, "下一页")).get_data(as_text=True)
        assert _rows(third) == ids[8:] and "下一页" not in third
        back = _href(third, "上一页")
        assert _args(back)["q"] == "精密" and "before" in _args(back)
        assert _rows(client.get(back).get_data(as_text=True)) == ids[4:8]
        assert _rows(client.get(_href(third, "第一页")).get_data(as_text=True)) == ids[:4]
        # The jump form carries the filters as hidden fields.
        jump = third.split('aria-label="分页"')[1].split("</form>")[0]
        assert '<input type="hidden" name="q" value="精密">' in jump
        assert _rows(client.get("/beijing/office/?q=精密&page=2").get_data(as_text=True)) == \
            ids[4:8]
        # A page past the end is the last one; a malformed cursor the first.
        assert _rows(client.get("/beijing/office/?page=99").get_data(as_text=True)) == ids[8:]
        assert _rows(client.get("/beijing/office/?after=junk").get_data(as_text=True)) == ids[:4]


@pytest.mark.rule("BJ-WIN-2")
@pytest.mark.parametrize("when,text", [((2026, 7, 20, 10), "剩17天"),
                                       ((2026, 8, 6, 10), "今天截止"),
                                       ((2026, 8, 8, 10), "逾期2天")])
def test_next_action_and_countdown(client, login, office, when, text):
    with time_machine.travel(at(*when), tick=False):
        login("beijing", "clerk")
        html = client.get("/beijing/office/").get_data(as_text=True)
    rows = {int(m.group(1)): m.group(0) for m in re.finditer(
        r'name="ids" value="(\d+)".*?</tr>', html, re.S)}
    ids = office["ids"]
    assert all(text in rows[i] for i in ids)
    assert "审核并开始公示" in rows[ids[5]]
    assert "公示期满待推荐" in rows[ids[1]]
    if when < (2026, 7, 25):
        assert "公示中（至2026-07-24）" in rows[ids[0]]
    else:
        assert "公示期满待推荐" in rows[ids[0]]


def test_overdue_and_due_within_filters(client, login, office):
    with time_machine.travel(at(2026, 8, 8, 10), tick=False):
        login("beijing", "clerk")
        assert len(_rows(client.get("/beijing/office/?overdue=1").get_data(as_text=True))) == 12
        assert _rows(client.get("/beijing/office/?due=5").get_data(as_text=True)) == []
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        assert _rows(client.get("/beijing/office/?overdue=1").get_data(as_text=True)) == []
        assert len(_rows(client.get("/beijing/office/?due=17").get_data(as_text=True))) == 12
        assert _rows(client.get("/beijing/office/?due=16").get_data(as_text=True)) == []


@pytest.mark.rule("BJ-WIN-3")
def test_the_agency_list_and_its_next_actions(app, client, login):
    with app.app_context():
        agency = f.org("beijing", "bj-agency-eng")
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        ids = {}
        for i, status in enumerate(("recommended", "checked", "paid", "in_review")):
            u = f.make_user("beijing", f"a{i}", "applicant", "emp", name=f"申报人{i}")
            ids[status] = _held(agency, u, status, i, kind="agency").id
        db.session.commit()
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "ag")
        html = client.get("/beijing/agency/").get_data(as_text=True)
        assert _rows(html) == [ids["recommended"]]  # the default: files to check
        assert "审核材料" in html and "剩59天" in html  # the agency's check closes on 09-17
        assert f'/beijing/agency/applications/{ids["recommended"]}' in html
        everything = client.get("/beijing/agency/?status=").get_data(as_text=True)
        assert sorted(_rows(everything)) == sorted(ids.values())
        assert "待申报人缴费" in everything or "安排评审会" in everything
        assert "评审中" in everything
        # "All" keeps meaning all on the page whose default is a status.
        counts = everything.split('class="inline counts"')[1].split("</p>")[0]
        assert _args(_href(counts, "全部")) == {"status": ""}
        assert "全部 (4)" in counts and "已缴费 (1)" in counts


def test_another_tenants_and_offices_filters_and_ids_show_nothing(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        for query in (f"unit={office['cf_emp']}", f"unit={office['other']}",
                      f"plan={office['cf_plan']}", f"q={office['cf_app']}",
                      f"q={office['stranger']}", "q=孙悟空", "q=钱多多", "q=赤峰"):
            html = client.get(f"/beijing/office/?{query}").get_data(as_text=True)
            assert _rows(html) == [] and "共0件" in html, query
            listed = html.split('<div id="list"')[1]
            assert "孙悟空" not in listed and "钱多多" not in listed and "赤峰某厂" not in listed
        full = client.get("/beijing/office/").get_data(as_text=True)
        assert office["cf_app"] not in _rows(full) and office["stranger"] not in _rows(full)
        # The plan choices are the tenant's own.
        assert "2026年度北京市职称评审" in full or 'name="plan"' not in full
        assert "赤峰" not in full


def test_the_english_page(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        html = client.get("/beijing/office/?lang=en").get_data(as_text=True)
    assert "Next step" in html and "17 days left" in html and "Review and start the notice" in html
    assert "In notice (until 2026-07-24)" in html and "Notice over, to recommend" in html
    assert "Name, application no., employer, ID or mobile number" in html
    assert "Mechanical" in html and "Haidian" in html and "Engineering" in html
    page = html.split('<main id="main">')[1]
    # Nothing but the people's and the employers' names is left in Chinese.
    left = set(re.findall(r"[\u4e00-\u9fff]+", page)) - set(NAMES) - {"海淀精密机械厂"}
    assert not left, left


def test_the_list_page_stays_within_the_first_visit_budget(client, login, office):
    """HTML and CSS as sent compressed, a full page of files included, within 14 KB."""
    import gzip
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        page = client.get("/beijing/office/", headers={"Accept-Encoding": "gzip"})
    html = gzip.decompress(page.data).decode()
    css = client.get(html.split('rel="stylesheet" href="')[1].split('"')[0],
                     headers={"Accept-Encoding": "gzip"})
    assert len(page.data) + len(css.data) <= 14 * 1024, (len(page.data), len(css.data))


def test_names_in_the_rows_are_escaped(app, client, login, office):
    """The rows are made without the template (app/inbox_page.py rows_html): a name or a unit
    with markup in it shows as text, in the cell and in the checkbox's label."""
    from app.models import Org, User
    with app.app_context():
        a = db.session.get(Application, office["ids"][4])
        db.session.get(User, a.applicant_id).name = '<b>"张&伟"</b>'
        db.session.get(Org, office["emp"]).name = "<i>海淀</i>&厂"
        db.session.commit()
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        html = client.get("/beijing/office/").get_data(as_text=True)
    assert "<b>" not in html and "<i>" not in html
    assert '>&lt;b&gt;&#34;张&amp;伟&#34;&lt;/b&gt;</a>' in html
    assert 'aria-label="选择 &lt;b&gt;&#34;张&amp;伟&#34;&lt;/b&gt;"' in html
    assert ">&lt;i&gt;海淀&lt;/i&gt;&amp;厂</td>" in html
