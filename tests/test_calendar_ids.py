"""Working days, identifiers and their storage."""
from datetime import date

import pytest

from app.tenancy import tenants
from app.workflow.calendar import CalendarYearMissing, WorkCalendar, closes_at, window_is_open
from app.workflow.ids import (
    clean_id_number, clean_uscc, decrypt_id, encrypt_id, id_hash, mask_id, mask_mobile,
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
