"""The expert's pages: the confidentiality agreement first, blind files that carry nothing about
the applicant (pages and downloads), scores, a late conflict, attendance, the secret ballot and
the sealed tally; and the applicant's page for naming an expert who must stay out."""
import io
import re
from collections import deque
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine
from PIL import Image
from pypdf import PdfReader, PdfWriter

from app import uploads
from app.extensions import db
from app.models import (
    Application, Attachment, BallotReceipt, Conflict, Entry, PanelMember, ReviewSession, Score,
    SessionItem, User,
)
from app.workflow.accounts import set_id_number
from app.workflow.transitions import transition

from . import factories as f
from .test_review import CFG, VOTE_DAY, new_session, pool_of, ready_to_vote, recommended

NAME = "甄秘名"
ID_NUMBER = f.ID_NUMBERS[1]
MOBILE = "13912345678"
EMPLOYER = "隐秘精工集团有限公司"
FORMER_EMPLOYER = "旧东家精密研究所"
COAUTHOR = "贾合著"
PROJECT_MEMBER = "易成员"
PDF_NAME = "甄秘名-学历证书.pdf"
JPEG_NAME = "zhenmiming-achievement-photo.jpg"
ID_CARD_NAME = "甄秘名身份证正反面.pdf"
ARTIST_TAG = 0x013B


def identifying_pdf() -> bytes:
    """A scanned-looking PDF: a JPEG page whose EXIF names the applicant (as phone scanning apps
    leave it), document info /Author, /Title, /Creator naming them, and XMP naming them."""
    exif = Image.Exif()
    exif[ARTIST_TAG] = NAME.encode()
    buf = io.BytesIO()
    Image.new("RGB", (40, 56), "white").save(buf, "PDF", exif=exif)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    writer.add_metadata({"/Author": NAME, "/Title": f"{NAME}的学历证书", "/Creator": EMPLOYER})
    writer.xmp_metadata = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:creator>{NAME}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>').encode()
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert PdfReader(io.BytesIO(data)).metadata.author == NAME and NAME.encode() in data
    return data


def identifying_jpeg() -> bytes:
    exif = Image.Exif()
    exif[ARTIST_TAG] = NAME.encode()
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "gray").save(buf, "JPEG", exif=exif)
    assert NAME.encode() in buf.getvalue()
    return buf.getvalue()


def _attach(app, material, filename, data, mime):
    stored, digest = uploads.store("beijing", data, mime)
    db.session.add(Attachment(application_id=app.id, material=material, filename=filename,
                              stored_name=stored, mime=mime, size=len(data), sha256=digest,
                              uploaded_by=app.applicant_id))


def drawn(review_mode="named", size=5, pool=8, identifying=False):
    """A drawn session of one Beijing file; with `identifying`, the file is full of distinctive
    identifying data and real scans. Returns ids and login names."""
    if identifying:
        f.make_employer("beijing", "hidden", "haidian", name=EMPLOYER)
    (a,), _ = recommended(1, employer="hidden" if identifying else "emp")
    if identifying:
        user = a.applicant
        user.name, user.mobile = NAME, MOBILE
        assert set_id_number(user, ID_NUMBER)
        a.basic = {**a.basic, "name": NAME, "current_title": "工程师"}
        work = next(e for e in a.entries if e.section == "work")
        work.data = {**work.data, "org_name": FORMER_EMPLOYER}
        db.session.add(Entry(application_id=a.id, section="papers", data={
            "title": "精密减速器的疲劳寿命", "journal": "机械工程学报", "year": "2024",
            "coauthors": f"{COAUTHOR}、{NAME}"}))
        db.session.add(Entry(application_id=a.id, section="projects", data={
            "name": "高精度关节模组", "role": "负责人", "year": "2023",
            "members": f"{NAME}、{PROJECT_MEMBER}"}))
        db.session.add(Entry(application_id=a.id, section="awards", data={
            "name": f"{NAME}创新工作室年度奖", "grade": "一等", "year": "2022"}))
        for att in list(a.attachments):
            db.session.delete(att)
        _attach(a, "id_card", ID_CARD_NAME, identifying_pdf(), "application/pdf")
        _attach(a, "education", PDF_NAME, identifying_pdf(), "application/pdf")
        _attach(a, "achievements", JPEG_NAME, identifying_jpeg(), "image/jpeg")
        db.session.commit()
    plan = f.plan("beijing", "bj-2026")
    plan.review_mode = review_mode
    db.session.commit()
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    pool_of(pool)
    s = new_session(agency, [a], size=size)
    transition(CFG(), s, "draw", f.actor(agency))
    assert s.blind is (review_mode != "named")
    chair = next(m for m in s.members if m.role == "chair")
    others = [m for m in s.members if m is not chair]
    return {"session": s.id, "item": s.items[0].id, "app": a.id,
            "applicant": a.applicant.username, "chair": chair.expert.user.username,
            "chair_member": chair.id, "members": [m.expert.user.username for m in others],
            "member_ids": [m.id for m in others],
            "atts": {att.material: att.id for att in a.attachments}}


def url(d, tail=""):
    return f"/beijing/expert/sessions/{d['session']}{tail}"


def item_url(d, tail=""):
    return url(d, f"/items/{d['item']}{tail}")


def switch(client, login, username, tenant="beijing"):
    client.post(f"/{tenant}/logout")
    return login(tenant, username)


# -- the agreement comes first -----------------------------------------------------------------

@pytest.mark.rule("AE-CONF-1")
def test_no_file_before_the_confidentiality_agreement(app, client, login):
    with app.app_context():
        d = drawn()
        member = db.session.scalar(sa.select(PanelMember).filter_by(id=d["member_ids"][0]))
        member.expert.confidentiality_signed_at = None
        db.session.commit()
    login("beijing", d["members"][0])
    for path in ("/beijing/expert/", url(d), item_url(d),
                 item_url(d, f"/files/{d['atts']['education']}")):
        r = client.get(path)
        assert r.status_code in (302, 303) and r.headers["Location"].endswith(
            "/beijing/expert/agreement"), path
    r = client.post(item_url(d, "/score"), data={"score-c1": "50", "score-c2": "30"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/expert/agreement")
    page = client.get("/beijing/expert/agreement").get_data(as_text=True)
    assert "保密" in page and "回避" in page and "私下接触申报人" in page
    r = client.post("/beijing/expert/agreement", data={}, follow_redirects=True)
    assert "请勾选" in r.get_data(as_text=True) and client.get(item_url(d)).status_code == 303
    r = client.post("/beijing/expert/agreement", data={"accept": "y"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/beijing/expert/")
    assert client.get(item_url(d)).status_code == 200
    r = client.post(item_url(d, "/score"), data={"score-c1": "50", "score-c2": "30",
                                                 "opinion": "业绩突出"})
    assert r.status_code == 303
    with app.app_context():
        row = db.session.scalar(sa.select(Score).filter_by(member_id=d["member_ids"][0]))
        assert row.scores == {"c1": 50, "c2": 30} and row.opinion == "业绩突出"


def test_expert_pages_are_for_experts_only(app, client, login):
    with app.app_context():
        d = drawn()
    login("beijing", d["applicant"])
    assert client.get("/beijing/expert/").status_code == 403
    assert client.get(url(d)).status_code == 403


def test_score_form_swaps_its_own_section_for_htmx(app, client, login):
    with app.app_context():
        d = drawn()
    login("beijing", d["members"][0])
    hx = {"HX-Request": "true"}
    r = client.post(item_url(d, "/score"), data={"score-c1": "61", "score-c2": "30",
                                                 "opinion": "待定"}, headers=hx)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and "HX-Request" in r.headers["Vary"]
    assert "请填写0至60的整数" in html and 'value="61"' in html and "待定" in html
    r = client.post(item_url(d, "/score"), data={"score-c1": "55", "score-c2": "30"}, headers=hx)
    assert "评分已保存" in r.get_data(as_text=True)
    r = client.post(item_url(d, "/score"), data={"score-c1": "x"})
    assert r.status_code == 303 and r.headers["Location"].endswith(item_url(d) + "#score")


# -- blind review ------------------------------------------------------------------------------

SECRETS = [NAME, ID_NUMBER, "110*************21", MOBILE, EMPLOYER, FORMER_EMPLOYER, COAUTHOR,
           PROJECT_MEMBER, PDF_NAME, JPEG_NAME, ID_CARD_NAME, "zhenmiming"]


def crawl(client, start: str) -> dict[str, object]:
    """GET every expert page and file link reachable from `start`: {path: response}."""
    seen, todo = {}, deque([start])
    while todo:
        path = todo.popleft()
        if path in seen:
            continue
        resp = client.get(path)
        seen[path] = resp
        if resp.mimetype == "text/html":
            for link in re.findall(r'href="(/beijing/expert/[^"#?]*)', resp.get_data(as_text=True)):
                todo.append(link)
    return seen


@pytest.mark.rule("CF-MODE-2", "CF-MODE-3")
@pytest.mark.parametrize("mode", ["online_blind", "online_blind_paper"])
def test_blind_reviewer_never_sees_who_the_applicant_is(app, client, login, mode):
    with app.app_context():
        d = drawn(mode, identifying=True)
        masked = db.session.scalar(sa.select(User.id_number_masked).filter_by(
            username=d["applicant"]))
    assert masked in SECRETS
    login("beijing", d["members"][0])
    pages = crawl(client, "/beijing/expert/")
    files = [p for p in pages if "/files/" in p]
    assert item_url(d) in pages and len(files) == 2  # education PDF and achievements JPEG
    for path, resp in pages.items():
        assert resp.status_code == 200, path
        body = resp.get_data()
        where = resp.headers.get("Content-Disposition", "")
        for secret in SECRETS:
            assert secret.encode("utf-8") not in body, (path, secret)
            assert secret not in where, (path, secret)
    page = pages[item_url(d)].get_data(as_text=True)
    assert "A001" in page and "精密减速器的疲劳寿命" in page and "1985" in page
    for column in ("工作单位", "合作者", "项目成员", "出生日期"):  # whitelisted fields only
        assert f"<th>{column}</th>" not in page
    assert "＊＊＊创新工作室年度奖" in page  # typed into a free-text field: masked
    assert "A001-education-1.pdf" in page and "A001-achievements-1.jpg" in page
    pdf = next(pages[p] for p in files if pages[p].mimetype == "application/pdf")
    assert "A001-education-1.pdf" in pdf.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(pdf.get_data()))
    assert not reader.metadata and reader.xmp_metadata is None and len(reader.pages) == 1
    for obj in reader.pages[0]["/Resources"]["/XObject"].values():
        embedded = Image.open(io.BytesIO(obj.get_object().get_data()))
        assert not embedded.getexif()
    jpeg = next(pages[p] for p in files if pages[p].mimetype == "image/jpeg")
    img = Image.open(io.BytesIO(jpeg.get_data()))
    assert img.size == (32, 32) and not img.getexif() and "exif" not in img.info
    # The ID-card scan is neither listed nor served, even by its id.
    assert client.get(item_url(d, f"/files/{d['atts']['id_card']}")).status_code == 404


def test_named_review_shows_the_applicant_and_the_original_scan(app, client, login):
    with app.app_context():
        d = drawn("named", identifying=True)
    login("beijing", d["members"][0])
    assert NAME in client.get(url(d)).get_data(as_text=True)
    page = client.get(item_url(d)).get_data(as_text=True)
    assert NAME in page and EMPLOYER in page and FORMER_EMPLOYER in page and COAUTHOR in page
    r = client.get(item_url(d, f"/files/{d['atts']['education']}"))
    assert r.status_code == 200 and PdfReader(io.BytesIO(r.get_data())).metadata.author == NAME


@pytest.mark.rule("CF-MODE-2")
def test_sanitized_png_keeps_its_pixels_and_loses_its_text(app):
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", NAME)
    info.add_itxt("Description", f"{NAME} {MOBILE}")
    buf = io.BytesIO()
    Image.new("P", (8, 8), 3).save(buf, "PNG", pnginfo=info)
    assert NAME.encode() in buf.getvalue()
    clean = uploads.sanitized(buf.getvalue(), "image/png")
    assert NAME.encode() not in clean and MOBILE.encode() not in clean
    with Image.open(io.BytesIO(clean)) as img, Image.open(buf) as orig:
        assert not img.info.get("Author") and img.convert("RGB").tobytes() == \
            orig.convert("RGB").tobytes()


def test_sanitized_refuses_what_it_cannot_clean(app):
    with pytest.raises(ValueError):
        uploads.sanitized(b"%PDF-1.4 broken", "application/pdf")
    with pytest.raises(ValueError):
        uploads.sanitized(b"data", "text/plain")


# -- the ballot through the pages ----------------------------------------------------------------

@pytest.mark.rule("BJ-VOTE-1")
def test_attendance_secret_ballot_and_sealed_tally_through_the_pages(app, client, login):
    with time_machine.travel(VOTE_DAY, tick=False):  # inside the review window
        _ballot_through_the_pages(app, client, login)


def _ballot_through_the_pages(app, client, login):
    with app.app_context():
        d = drawn("named")
        s = db.session.get(ReviewSession, d["session"])
        ready_to_vote(s, db.session.scalar(sa.select(User).filter_by(username="ag")))
    absent, present = d["members"][-1], d["members"][:-1]
    login("beijing", present[0])
    page = client.get(url(d)).get_data(as_text=True)
    assert 'name="present"' not in page  # only the presiding member records attendance
    assert client.post(url(d, "/attendance"), data={"present": d["member_ids"]}
                       ).status_code == 303
    with app.app_context():
        assert db.session.get(ReviewSession, d["session"]).status == "drawn"
    switch(client, login, d["chair"])
    assert 'name="present"' in client.get(url(d)).get_data(as_text=True)
    r = client.post(url(d, "/attendance"), data={"present": [d["chair_member"]]},
                    follow_redirects=True)
    assert "超过" in r.get_data(as_text=True)  # more than half must be present
    client.post(url(d, "/attendance"),
                data={"present": [d["chair_member"], *d["member_ids"][:-1]]})
    page = client.get(url(d)).get_data(as_text=True)
    assert f'name="item-{d["item"]}"' in page and "结束表决" in page
    client.post(url(d, "/ballot"), data={f"item-{d['item']}": "yes"})
    votes = ["yes", "yes", "no"]
    for username, choice in zip(present, votes):
        switch(client, login, username)
        r = client.post(url(d, "/ballot"), data={f"item-{d['item']}": choice})
        assert r.status_code == 303
        assert "您已投票" in client.get(url(d)).get_data(as_text=True)
    again = client.post(url(d, "/ballot"), data={f"item-{d['item']}": "yes"},
                        follow_redirects=True).get_data(as_text=True)
    assert "您已投过票" in again
    switch(client, login, absent)
    refused = client.post(url(d, "/ballot"), data={f"item-{d['item']}": "yes"},
                          follow_redirects=True).get_data(as_text=True)
    assert "未出席的委员不能投票" in refused
    assert client.post(url(d, "/close")).status_code == 303  # not presiding: refused
    with app.app_context():
        assert db.session.get(ReviewSession, d["session"]).status == "voting"
    switch(client, login, d["chair"])
    page = client.post(url(d, "/close"), follow_redirects=True).get_data(as_text=True)
    assert "表决结果（已封存）" in page
    with app.app_context():
        s = db.session.get(ReviewSession, d["session"])
        assert s.status == "closed" and s.tally["attending"] == 4 and s.tally["voted"] == 4
        # 3 yes of 4 attending is 2/3 or more: passed (though 3 is not 2/3 of the panel of 5).
        assert s.tally["items"]["A001"] == {"yes": 3, "no": 1, "abstain": 0, "passed": True}
        assert db.session.scalar(sa.select(sa.func.count(BallotReceipt.id))
                                 .filter_by(session_id=s.id)) == 4
    assert re.search(r"<td[^>]*>3</td><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>评审通过</td>", page)


# -- recusal -----------------------------------------------------------------------------------

@pytest.mark.rule("AE-RECUSE-1")
def test_expert_declares_a_conflict_and_is_replaced(app, client, login):
    with app.app_context():
        d = drawn()
    login("beijing", d["members"][0])
    r = client.post(url(d, "/recuse"), data={"reason": "  "}, follow_redirects=True)
    assert "请说明回避事由" in r.get_data(as_text=True)
    r = client.post(url(d, "/recuse"), data={"reason": "申报人是本人的表弟"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/beijing/expert/")
    with app.app_context():
        s = db.session.get(ReviewSession, d["session"])
        me = db.session.get(PanelMember, d["member_ids"][0])
        assert me.status == "recused" and me.recusal_reason == "申报人是本人的表弟"
        active = [m for m in s.members if m.status == "active"]
        assert len(active) == 5 and any(m.replaces_id == me.id for m in active)
    assert client.get(url(d)).status_code == 404
    assert client.get(item_url(d)).status_code == 404
    assert f"/sessions/{d['session']}" not in client.get("/beijing/expert/").get_data(as_text=True)


@pytest.mark.rule("AE-RECUSE-1")
def test_applicant_names_an_expert_who_is_then_not_drawn(app, client, login):
    with app.app_context():
        (a,), _ = recommended(1)
        relative = f.make_expert("beijing", "亲属专家").id
        applicant, app_id = a.applicant.username, a.id
    login("beijing", applicant)
    assert "/beijing/me/conflicts" in client.get("/beijing/me/").get_data(as_text=True)
    r = client.post("/beijing/me/conflicts", data={"expert_name": "亲属专家", "kind": "bogus"})
    assert r.status_code == 200
    r = client.post("/beijing/me/conflicts", data={"expert_name": " 亲属专家 ",
                                                   "kind": "relative", "note": "配偶的兄弟"})
    assert r.status_code == 303
    assert "亲属专家" in client.get("/beijing/me/conflicts").get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(sa.select(Conflict)).all()
        assert [(c.expert_name, c.kind, c.declared_by) for c in rows] == [
            ("亲属专家", "relative", "applicant")]
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        pool_of(8)
        s = new_session(agency, [db.session.get(Application, app_id)])
        transition(CFG(), s, "draw", f.actor(agency))
        assert {"expert_id": relative, "reason": "declared_relative"} in s.draw_excluded
        assert relative not in {m.expert_id for m in s.members}


# -- isolation -----------------------------------------------------------------------------------

def test_other_experts_and_other_tenants_get_404(app, client, login):
    with app.app_context():
        d = drawn()
        outsider = f.make_expert("beijing", "局外专家").user.username
        f.make_expert("chifeng", "赤峰专家")
        other = drawn_item_elsewhere()
    login("beijing", outsider)
    assert client.get("/beijing/expert/").status_code == 200
    for path in (url(d), item_url(d), item_url(d, f"/files/{d['atts']['education']}")):
        assert client.get(path).status_code == 404, path
    for tail in ("/ballot", "/recuse", "/attendance", "/close"):
        assert client.post(url(d, tail), data={"reason": "x"}).status_code == 404
    assert client.post(item_url(d, "/score")).status_code == 404
    switch(client, login, d["members"][0])
    # An item or a scan of another session, reached through my session's address.
    assert client.get(url(d, f"/items/{other['item']}")).status_code == 404
    assert client.get(item_url(d, f"/files/{other['att']}")).status_code == 404
    switch(client, login, "x-赤峰专家", tenant="chifeng")
    assert client.get(f"/chifeng/expert/sessions/{d['session']}").status_code == 404
    assert client.get(f"/chifeng/expert/sessions/{d['session']}/items/{d['item']}"
                      ).status_code == 404
    r = client.get(url(d))  # the chifeng login is no login in beijing
    assert r.status_code in (302, 303) and "/beijing/login" in r.headers["Location"]


def drawn_item_elsewhere():
    """An item of another session (another employer's applicant) and one of its scans."""
    (a,), _ = recommended(1, employer="emp2")
    s = ReviewSession(tenant_id=a.tenant_id, committee_id=a.committee_id, plan_id=a.plan_id,
                      series="engineering", level="senior", panel_size=5,
                      held_on=date(2026, 11, 21))
    db.session.add(s)
    db.session.flush()
    item = SessionItem(session_id=s.id, application_id=a.id, code="A001")
    db.session.add(item)
    db.session.commit()
    return {"item": item.id, "att": a.attachments[0].id}
