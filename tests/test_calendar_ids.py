"""Working days, identifiers and their storage."""
from datetime import date

import pytest

from app.tenancy import tenants
from app.workflow.calendar import CalendarYearMissing, WorkCalendar, closes_at, window_is_open
from app.workflow.ids import (
    birth_date_of, clean_document, clean_id_number, clean_uscc, clean_work_permit, decrypt_id,
    encrypt_id, id_hash, mask_id, mask_mobile,
)

from .conftest import at


def test_official_calendar_make_up_days_and_holidays(ctx):
    cal = WorkCalendar(tenants()["beijing"])
    assert cal.is_workday(date(2026, 10, 10))      # Saturday make-up working day
    assert not cal.is_workday(date(2026, 10, 5))   # National Day holiday, a Monday
    assert not cal.is_workday(date(2026, 7, 11))   # an ordinary Saturday


def test_tenant_calendar_file_takes_precedence_and_missing_year_names_it(ctx):
    cal = WorkCalendar(tenants()["beijing"])
    assert not cal.is_workday(date(2027, 2, 8))    # from tenants/beijing/calendar/2027.toml
    assert cal.is_workday(date(2027, 2, 9))
    with pytest.raises(CalendarYearMissing) as e:
        cal.is_workday(date(2031, 3, 3))
    assert "2031" in str(e.value) and "tenants/beijing/calendar/2031.toml" in str(e.value)


def test_window_closes_at_midnight_shanghai():
    class W:
        opens_on, closes_on = date(2026, 7, 7), date(2026, 7, 30)
    assert closes_at(W.closes_on).isoformat() == "2026-07-31T00:00:00+08:00"
    assert window_is_open(W, at(2026, 7, 30, 23, 59, 59))
    assert not window_is_open(W, at(2026, 7, 31, 0, 0, 0))
    assert window_is_open(W, at(2026, 7, 7, 0, 0, 0))
    assert not window_is_open(W, at(2026, 7, 6, 23, 59, 59))


@pytest.mark.parametrize("number,ok", [
    ("11010519491231002X", True),   # GB 11643-1999's own example
    ("11010519491231002x", True),   # lower-case check character
    ("110105194912310021", False),  # wrong check digit
    ("110105194913310028", False),  # impossible birth date
    ("1101051949123100", False),
])
def test_id_card_check_digit(number, ok):
    assert (clean_id_number(number) is not None) is ok


@pytest.mark.parametrize("code,ok", [
    ("91110000600037341L", True),   # example code of a registered enterprise
    ("91110108MA01AB23CD", True),
    ("91110000600037341M", False),  # wrong check character
    ("9111000060003734", False),
])
def test_unified_social_credit_code_check_digit(code, ok):
    assert (clean_uscc(code) is not None) is ok


def test_id_numbers_encrypted_hashed_and_masked(ctx):
    token = encrypt_id("11010519491231002X")
    assert "11010519491231002X" not in token and decrypt_id(token) == "11010519491231002X"
    assert id_hash("11010519491231002X") == id_hash("11010519491231002X") != id_hash("x")
    assert mask_id("11010519491231002X") == "110*************2X"
    assert mask_mobile("13800001234") == "138****1234"


# -- identity documents other than the mainland ID card (BJ-SCOPE-1) ------------------------------

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]  # GB 11643, ISO 7064 MOD 11-2


def with_check(body: str) -> str:
    """17 digits plus their MOD 11-2 check character, worked out here independently."""
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def wrong_check(number: str) -> str:
    """The same number with another (wrong) check character."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


HK_PERMIT = with_check("81000019940823002")      # a Hong Kong resident's residence permit
MO_PERMIT = with_check("82000019900101003")      # Macao
TW_PERMIT = with_check("83000019851231004")      # Taiwan
NEW_PR = with_check("91184019850615001")         # 9, Beijing office (11), USA (840), 1985-06-15
OLD_PR = "USA110085061501"


@pytest.mark.rule("BJ-SCOPE-1")
@pytest.mark.parametrize("doc,number,ok", [
    # 港澳台居民居住证: 18 characters, region 810000/820000/830000, birth date, MOD 11-2.
    ("hmt_residence", HK_PERMIT, True),
    ("hmt_residence", MO_PERMIT, True),
    ("hmt_residence", TW_PERMIT.lower(), True),
    ("hmt_residence", wrong_check(HK_PERMIT), False),                  # wrong check digit
    ("hmt_residence", with_check("84000019940823002"), False),          # wrong region
    ("hmt_residence", "110108198506154321", False),                     # a mainland region
    ("hmt_residence", HK_PERMIT[:17], False),                           # wrong length
    ("hmt_residence", with_check("81000019941323002"), False),          # no such birth date
    # The mainland ID card refuses the residence permit's regions (and keeps its own rule).
    ("resident_id", HK_PERMIT, False),
    ("resident_id", "110108198506154321", True),
    # 港澳居民来往内地通行证: H/M + 8 digits, older forms 10 digits; no check character.
    ("hk_macao_permit", "H12345678", True),
    ("hk_macao_permit", "m1234567801", True),
    ("hk_macao_permit", "X12345678", False),                            # wrong region letter
    ("hk_macao_permit", "H1234567", False),                             # wrong length
    ("hk_macao_permit", "H123456789", False),                           # 9 digits: neither form
    # 台湾居民来往大陆通行证: 8 digits; no check character.
    ("taiwan_permit", "12345678", True),
    ("taiwan_permit", "1234567", False),                                # wrong length
    ("taiwan_permit", "T1234567", False),
    # 外国人永久居留身份证, 2023 form: 9 + province + nationality + birth date + seq + check.
    ("foreign_pr", NEW_PR, True),
    ("foreign_pr", wrong_check(NEW_PR), False),                         # wrong check digit
    ("foreign_pr", with_check("99984019850615001"), False),             # wrong province code
    ("foreign_pr", with_check("81184019850615001"), False),             # not a foreigner's 9
    ("foreign_pr", NEW_PR[:17], False),                                 # wrong length
    # … and the earlier 15-character form: three letters and 12 digits.
    ("foreign_pr", OLD_PR, True),
    ("foreign_pr", "US1110085061501", False),
    ("foreign_pr", OLD_PR[:14], False),                                 # wrong length
    # Passports: 5-17 letters and digits, at least one digit.
    ("passport", "E12345678", True),
    ("passport", "x 1234 5678", True),
    ("passport", "E123", False),                                        # too short
    ("passport", "E" * 10 + "1" * 8, False),                            # too long
    ("passport", "ABCDEFGH", False),
])
def test_each_document_has_its_own_rule(doc, number, ok):
    assert (clean_document(doc, number) is not None) is ok


@pytest.mark.rule("BJ-SCOPE-1")
@pytest.mark.parametrize("number,ok", [("156011202300012345", True), ("15601120230001234", False),
                                       ("15601120230001234X", False)])
def test_work_permit_is_eighteen_digits(number, ok):
    assert (clean_work_permit(number) is not None) is ok


@pytest.mark.rule("BJ-SCOPE-1")
def test_birth_date_is_read_only_from_documents_that_carry_it():
    assert birth_date_of("hmt_residence", HK_PERMIT) == date(1994, 8, 23)
    assert birth_date_of("foreign_pr", NEW_PR) == date(1985, 6, 15)
    assert birth_date_of("resident_id", "110108198506154321") == date(1985, 6, 15)
    for doc, number in [("hk_macao_permit", "H12345678"), ("taiwan_permit", "12345678"),
                        ("passport", "E12345678"), ("foreign_pr", OLD_PR)]:
        assert birth_date_of(doc, number) is None


@pytest.mark.rule("BJ-SCOPE-1")
def test_short_document_numbers_are_masked_harder():
    assert mask_id("H12345678") == "H******78"
    assert mask_id("12345678") == "1*****78"
    assert mask_id(HK_PERMIT) == "810" + "*" * 13 + HK_PERMIT[-2:]


def _no_official_calendar(d):
    raise NotImplementedError(f"no available data for year {d.year}")


@pytest.mark.rule("CF-UNIT-1", "BJ-ACC-1")
def test_a_year_the_calendar_lacks_refuses_the_notice_and_the_file_page_still_shows(
        app, client, login, monkeypatch):
    """Working days past the last year the calendar knows cannot be counted: starting a notice
    is refused with a message naming the year, and changes nothing; the file's page, which
    shows the period a notice started today would run, still opens and says why it cannot."""
    import time_machine
    from app.extensions import db
    from app.models import Application, AuditEvent
    from app.workflow import calendar
    from app.workflow.errors import Invalid
    from app.workflow.transitions import transition
    from . import factories as f
    with app.app_context():
        cfg = tenants()["beijing"]
        f.make_employer("beijing", "emp", "haidian")
        clerk = f.make_user("beijing", "clerk", "employer_clerk", "emp")
        user = f.make_user("beijing", "a1", "applicant", "emp")
        a = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering", "senior",
                               "mechanical")
        with time_machine.travel(at(2026, 7, 8, 9), tick=False):
            transition(cfg, a, "submit", f.actor(user), pledge=f.PLEDGE)
        events = db.session.query(AuditEvent).count()
        monkeypatch.setattr(calendar, "_official_workday", _no_official_calendar)
        with time_machine.travel(at(2026, 7, 9, 9), tick=False):
            with pytest.raises(Invalid) as refused:
                transition(cfg, a, "start_notice", f.actor(clerk))
        assert isinstance(refused.value, CalendarYearMissing)
        assert str(refused.value.message) == (
            "系统尚未载入2026年的法定节假日安排，无法计算工作日期限；请联系系统管理员。")
        assert db.session.get(Application, a.id).status == "submitted"
        assert db.session.query(AuditEvent).count() == events
        app_id = a.id
    with time_machine.travel(at(2026, 7, 9, 9)):
        login("beijing", "clerk")
        page = client.get(f"/beijing/office/applications/{app_id}")
        assert page.status_code == 200
        assert "2026年的法定节假日安排尚未载入，暂无法计算公示期" in page.get_data(as_text=True)
        english = client.get(f"/beijing/office/applications/{app_id}?lang=en")
        assert english.status_code == 200
        assert "no holiday calendar for 2026 has been loaded yet" in english.get_data(as_text=True)
