"""Working days on the official PRC calendar, and stage windows in the tenant's timezone."""
from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from flask_babel import lazy_gettext

from .errors import Invalid

TZ = ZoneInfo("Asia/Shanghai")


class CalendarYearMissing(Invalid):
    """Neither the tenant's calendar files nor the official calendar library know this year.

    Its text (`str`) tells the maintainer what to add; `message`, what a user acting on a file
    is shown: an action that needs a working-day count is refused with it and changes nothing."""

    def __init__(self, year: int, tenant: str):
        self.year, self.tenant = year, tenant
        Exception.__init__(
            self,
            f"No working-day calendar for {year}: add tenants/{tenant}/calendar/{year}.toml "
            f"(holidays and make-up working days) or upgrade chinesecalendar."
        )
        self.message = lazy_gettext(
            "系统尚未载入%(year)d年的法定节假日安排，无法计算工作日期限；请联系系统管理员。",
            year=year)
        self.problems = []


class WorkCalendar:
    """Tenant calendar files take precedence; otherwise the chinese-calendar library decides."""

    def __init__(self, tenant_cfg):
        self.slug = tenant_cfg.slug
        self.files = tenant_cfg.calendars

    def is_workday(self, d: date) -> bool:
        cal = self.files.get(d.year)
        if cal is not None:
            if d in cal.holidays:
                return False
            if d in cal.workdays:
                return True
            return d.weekday() < 5
        try:
            return _official_workday(d)
        except NotImplementedError:
            raise CalendarYearMissing(d.year, self.slug) from None

    def nth_workday_after(self, start: date, n: int) -> date:
        """The n-th working day strictly after `start`."""
        d, count = start, 0
        while count < n:
            d += timedelta(days=1)
            if self.is_workday(d):
                count += 1
        return d


def missing_years(tenant_cfg, today: date | None = None) -> list[int]:
    """Of this year and the next (a window or a notice late in the year runs into the next),
    those neither the tenant's calendar files nor the official calendar know."""
    cal, year = WorkCalendar(tenant_cfg), (today or today_local()).year
    out = []
    for y in (year, year + 1):
        try:
            cal.is_workday(date(y, 1, 1))
        except CalendarYearMissing:
            out.append(y)
    return out


@functools.lru_cache(maxsize=4096)
def _official_workday(d: date) -> bool:
    """chinese_calendar's answer, once per date (it scans its tables on every call)."""
    return chinese_calendar.is_workday(d)


def now_local(now: datetime | None = None) -> datetime:
    return (now or datetime.now(TZ)).astimezone(TZ)


def today_local(now: datetime | None = None) -> date:
    return now_local(now).date()


def opens_at(day: date) -> datetime:
    return datetime.combine(day, time.min, TZ)


def closes_at(day: date) -> datetime:
    """A window closing on `day` ends at the next midnight (00:00:00 the day after)."""
    return datetime.combine(day + timedelta(days=1), time.min, TZ)


def window_is_open(window, now: datetime | None = None) -> bool:
    t = now_local(now)
    return window is not None and opens_at(window.opens_on) <= t < closes_at(window.closes_on)
