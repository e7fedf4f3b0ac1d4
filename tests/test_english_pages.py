"""English pages: ASCII separators after labels and in lists, and the English names the tenant
data holds (orgs, committees, materials) wherever a name is shown."""
from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
import time_machine
from babel.messages.pofile import read_po

from app.extensions import db
from app.models import Org, ReviewSession, User
from app.models.results import Publication
from app.workflow import results
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_results import EVIDENCE, _closed_and_accepted
from .test_review import CFG

ROOT = Path(__file__).resolve().parent.parent
EN_PO = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
FULL_WIDTH = re.compile(r"[：；、（）]")
# A translatable literal: _("…") or _('…'); what is inside is the catalogue's business.
LITERAL = re.compile(r'''_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')''')


def test_templates_put_no_bare_full_width_colon_or_list_mark_on_a_page():
    """A colon after a label, or between list items, is a message of its own (": ", ", " in
    English), never a literal that English pages would show as is."""
    bare = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            outside = re.sub(r"\{#.*?#\}", "", LITERAL.sub("", line))
            if re.search(r"[：、；]", outside):
                bare.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not bare, "full-width separators outside _():\n" + "\n".join(bare)


def test_the_english_catalogue_has_ascii_separators_only():
    with EN_PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    assert (catalog.get("：").string, catalog.get("、").string, catalog.get("；").string) == (
        ": ", ", ", "; ")
    wrong = [m.id for m in catalog if m.id and FULL_WIDTH.search(
        m.string if isinstance(m.string, str) else "".join(m.string))]
    assert not wrong, wrong


def _draft(app) -> int:
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        user = f.make_user("beijing", "a1", "applicant", "emp")
        return f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                  "intermediate", "mechanical", complete=False).id


def test_the_application_page_in_english_has_ascii_colons_and_english_names(app, client, login):
    draft = _draft(app)
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "a1")
        zh = client.get(f"/beijing/me/applications/{draft}?lang=zh").get_data(as_text=True)
        assert "状态：" in zh and "所持证件的扫描件）、学历学位证书" in zh
        en = client.get(f"/beijing/me/applications/{draft}?lang=en").get_data(as_text=True)
    assert "Status: " in en and "Review mode: " in en
    assert "the document they hold), Diplomas and degree certificates" in en  # the checklist's name_en
    assert "：" not in en and "、" not in en
    assert "身份证扫描件" not in en and "学历学位证书" not in en


def test_the_public_notice_and_an_objection_in_english_show_english_org_names(app):
    ids = _closed_and_accepted(app)
    with app.app_context():
        employer = f.org("beijing", "emp")
        db.session.get(Org, employer.id).name_en = "Haidian Test Works"
        db.session.commit()
    with time_machine.travel(at(2026, 11, 23, 10), tick=False), app.app_context():
        session = db.session.get(ReviewSession, ids["session"])
        agency, hr = (db.session.scalar(sa.select(User).filter_by(username=name))
                      for name in ("ag", ids["hr"]))
        pub = results.request_acceptance(CFG(), f.actor(agency), session, "评审情况报告")
        transition(CFG(), pub, "accept", f.actor(hr), opinion="验收通过")
        pub_id = pub.id
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        anon = app.test_client()
        page = anon.get("/beijing/results/?lang=en").get_data(as_text=True)
        assert ids["name"] in page  # a person's name is a name in every language
        assert "Haidian Test Works" in page and "单位emp" not in page
        assert "Beijing Municipal Human Resources and Social Security Bureau" in page
        assert "：" not in page
        r = anon.post(f"/beijing/results/notices/{pub_id}/objections/{ids['passed']}",
                      data={**EVIDENCE, "kind": "review"}, follow_redirects=True)
        body = r.get_data(as_text=True)
    assert "Engineering title review service agency" in body
    assert "工程技术系列职称评审服务机构" not in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Publication)) == 1
