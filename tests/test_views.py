"""Pages: employer registration and approval, section saves (page or fragment), uploads by
content, query counts that do not grow with rows, and the low-bandwidth budget."""
import gzip
import io

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Attachment, Org, User

from . import factories as f
from .conftest import at

REG = {"name": "北京新单位科技有限公司", "uscc": "91110000600037341L", "district": "xicheng",
       "employer_kind": "non_public", "clerk_name": "钱七", "clerk_mobile": "13700000001",
       "password": "long-enough-pw"}


@pytest.fixture
def hr(app):
    with app.app_context():
        f.make_user("beijing", "hr-xc", "hr_officer", "bj-hr-xicheng")
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")


def test_employer_registers_and_territorial_hr_approves(app, client, login, hr):
    assert client.post("/beijing/employers/register", data=REG).status_code == 303
    r = client.post("/beijing/login", data={"username": "13700000001", "password": REG["password"]})
    assert "尚未启用" in r.get_data(as_text=True)  # waits for approval
    login("beijing", "hr-hd")  # another district's bureau does not see it
    assert REG["name"] not in client.get("/beijing/admin/employers").get_data(as_text=True)
    with app.app_context():
        org_id = db.session.scalar(sa.select(Org.id).filter_by(uscc=REG["uscc"]))
    r = client.post(f"/beijing/admin/employers/{org_id}/approve", follow_redirects=True)
    assert "无权" in r.get_data(as_text=True)
    client.post("/beijing/logout")
    login("beijing", "hr-xc")
    assert REG["name"] in client.get("/beijing/admin/employers").get_data(as_text=True)
    client.post(f"/beijing/admin/employers/{org_id}/approve", data={"version": 1})
    client.post("/beijing/logout")
    r = client.post("/beijing/login", data={"username": "13700000001", "password": REG["password"]})
    assert r.status_code == 303 and r.location.endswith("/beijing/home")
    with app.app_context():
        assert db.session.get(Org, org_id).status == "approved"


@pytest.mark.parametrize("uscc,message", [("91110000600037341M", "校验位不符"),
                                          ("12110000400012345U", "已注册")])
def test_employer_bad_credit_code_is_refused_with_nothing_saved(app, client, uscc, message):
    with app.app_context():
        f.make_employer("beijing", "exists", "haidian")
        db.session.get(Org, f.org("beijing", "exists").id).uscc = "12110000400012345U"
        db.session.commit()
        before = db.session.scalar(sa.select(sa.func.count(Org.id)))
    r = client.post("/beijing/employers/register", data={**REG, "uscc": uscc})
    assert message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Org.id))) == before
        assert db.session.scalar(sa.select(User).filter_by(username="13700000001")) is None


@pytest.fixture
def draft(app):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        user = f.make_user("beijing", "a1", "applicant", "emp")
        app_row = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                     "intermediate", "mechanical", complete=False)
        return app_row.id


def test_section_save_returns_fragment_for_htmx_and_redirect_otherwise(client, login, draft):
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "a1")
        url = f"/beijing/me/applications/{draft}/entries/papers"
        data = {"title": "高速铁路轴承寿命研究", "journal": "机械工程学报", "year": "2024"}
        plain = client.post(url, data=data)
        assert plain.status_code == 303 and plain.location.endswith(f"/{draft}#papers")
        frag = client.post(url, data=data, headers={"HX-Request": "true"})
        body = frag.get_data(as_text=True)
        assert frag.status_code == 200 and "HX-Request" in frag.headers["Vary"]
        assert body.lstrip().startswith('<section id="papers"') and "<html" not in body
        assert body.count("高速铁路轴承寿命研究") == 2
        bad = client.post(url, data={"title": "x", "journal": "y", "year": "20x4"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "年份应为四位年份" in bad and bad.count("<tr>") == 3  # header + 2 saved rows


def test_edits_refused_after_the_apply_window(client, login, draft, app):
    with time_machine.travel(at(2026, 7, 31, 0, 0, 1), tick=False):
        login("beijing", "a1")
        r = client.post(f"/beijing/me/applications/{draft}/entries/papers",
                        data={"title": "t", "journal": "j", "year": "2024"}, follow_redirects=True)
        assert "截止" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, draft).entries == []


@pytest.mark.parametrize("name,data,ok,message", [
    ("scan.pdf", f.pdf_bytes(), True, None),
    ("scan.png", f.png_bytes(), True, None),
    ("scan.pdf", b"%PDF-1.4 this is not really a pdf", False, "无法读取"),
    ("scan.pdf", b"MZ\x90\x00 an executable renamed", False, "只接受PDF"),
    ("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 10), False, "每份不超过"),
])
def test_upload_checked_by_content(client, login, draft, app, name, data, ok, message):
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "a1")
        r = client.post(f"/beijing/me/applications/{draft}/attachments",
                        data={"material": "id_card", "scan": (io.BytesIO(data), name)},
                        content_type="multipart/form-data", headers={"HX-Request": "true"})
        body = r.get_data(as_text=True)
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Attachment.id)))
    assert count == (1 if ok else 0)
    if message:
        assert message in body


def _submit_box(page: str) -> str:
    start = page.index('<section id="submit"')
    return page[start:page.index("</section>", start)]


def test_an_htmx_upload_refreshes_the_submit_checklist_too(client, login, draft, app):
    """The missing-materials list (and the version the submit form sends) follow an htmx upload
    at once, out of band; without JavaScript the redirect shows the new page as before."""
    missing_id = "缺少材料：身份证扫描件"
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "a1")
        page = client.get(f"/beijing/me/applications/{draft}").get_data(as_text=True)
        assert missing_id in _submit_box(page)
        r = client.post(f"/beijing/me/applications/{draft}/attachments",
                        data={"material": "id_card", "scan": (io.BytesIO(f.pdf_bytes()), "id.pdf")},
                        content_type="multipart/form-data", headers={"HX-Request": "true"})
        body = r.get_data(as_text=True)
        assert r.status_code == 200 and "<html" not in body
        assert body.lstrip().startswith('<section id="attachments"') and "id.pdf" in body
        box = _submit_box(body)
        assert box.startswith('<section id="submit" class="box" hx-swap-oob="true">')
        assert missing_id not in box and "缺少材料：学历学位证书" in box
        with app.app_context():
            version = db.session.get(Application, draft).version
        assert f'name="version" value="{version}"' in box
        # A rejected upload still brings the (unchanged) box along.
        r = client.post(f"/beijing/me/applications/{draft}/attachments",
                        data={"material": "education", "scan": (io.BytesIO(b"MZ\x90"), "x.pdf")},
                        content_type="multipart/form-data", headers={"HX-Request": "true"})
        assert "只接受PDF" in r.get_data(as_text=True)
        assert "缺少材料：学历学位证书" in _submit_box(r.get_data(as_text=True))
        # Without JavaScript: a redirect to the page, whose box is up to date too.
        r = client.post(f"/beijing/me/applications/{draft}/attachments",
                        data={"material": "education",
                              "scan": (io.BytesIO(f.pdf_bytes()), "e.pdf")},
                        content_type="multipart/form-data")
        assert r.status_code == 303
        page = client.get(r.location).get_data(as_text=True)
        assert "hx-swap-oob" not in page
        assert "缺少材料：学历学位证书" not in _submit_box(page)


def count_queries(app, fn):
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda *a, **k: seen.append(a[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(seen)


@pytest.mark.parametrize("url", [
    "/beijing/office/",
    "/beijing/office/?level=intermediate&series=engineering&mode=named&q=精密&sort=name",
], ids=["plain", "filtered-and-searched"])
def test_inbox_query_count_does_not_grow_with_rows(app, client, login, url):
    """The same statements for 2 rows as for 22, full page and htmx fragment alike."""
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
    from app.tenancy import tenants
    from app.workflow.transitions import transition

    def add(n):
        with app.app_context(), time_machine.travel(at(2026, 7, 10, 10), tick=False):
            start = db.session.scalar(sa.select(sa.func.count(User.id)))
            for i in range(n):
                u = f.make_user("beijing", f"u{start + i}", "applicant", "emp")
                a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering",
                                       "intermediate", "mechanical")
                transition(tenants()["beijing"], a, "submit", f.actor(u), pledge=f.PLEDGE)
    login("beijing", "clerk")
    add(2)
    few = count_queries(app, lambda: client.get(url))
    fragment = count_queries(app, lambda: client.get(url, headers={"HX-Request": "true"}))
    add(20)
    many = count_queries(app, lambda: client.get(url))
    assert few == many
    assert fragment == count_queries(app, lambda: client.get(url, headers={"HX-Request": "true"}))
    page = client.get(url).get_data(as_text=True)
    assert page.count("<tr>") == 22 + 1 and "共22件" in page


@pytest.mark.parametrize("path", ["/", "/beijing/", "/beijing/login", "/beijing/register",
                                  "/chifeng/employers/register", "/beijing/directory",
                                  "/beijing/results/", "/beijing/certificates/verify"])
def test_first_visit_fits_one_round_trip(client, path):
    """HTML + CSS, compressed as the server sends them, within 14 KB."""
    page = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("Content-Encoding") == "gzip"
    html = gzip.decompress(page.data).decode()
    css_url = html.split('rel="stylesheet" href="')[1].split('"')[0]
    css = client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert "?v=" in css_url and css.headers["Cache-Control"].startswith("public, max-age=31536000")
    assert len(page.data) + len(css.data) <= 14 * 1024, (len(page.data), len(css.data))


def test_inbox_filter_by_status(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
    login("beijing", "clerk")
    r = client.get("/beijing/office/?status=in_notice")
    assert r.status_code == 200 and "共0件" in r.get_data(as_text=True)
    frag = client.get("/beijing/office/?status=submitted", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and frag.get_data(as_text=True).startswith('<div id="list"')
