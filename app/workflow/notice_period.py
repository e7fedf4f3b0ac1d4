"""How a notice period (公示期) is counted and shown, the same everywhere: the employer's notice,
the public results notice, the objection page and the texts sent by SMS.

A notice posted on day D runs for n working days counted from the first working day after D (the
day of posting is not counted) and ends at 24:00 on the n-th: "5 个工作日，自 X 起算，至 Y 24:00 止"
(CF-UNIT-1, BJ-ACC-1)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from flask_babel import format_date, gettext

from .calendar import CalendarYearMissing, WorkCalendar, today_local

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NoticePeriod:
    days: int     # working days counted
    first: date   # the first day counted
    last: date    # the last day: the notice ends at 24:00 on it

    def text(self) -> str:
        """The period in words, in the current language."""
        return gettext("%(n)d 个工作日，自 %(first)s 起算，至 %(last)s 24:00 止", n=self.days,
                       first=format_date(self.first, "yyyy-MM-dd"),
                       last=format_date(self.last, "yyyy-MM-dd"))


def period(cfg, posted_on: date | None, ends_on: date | None) -> NoticePeriod | None:
    """The period of a notice posted on `posted_on` and ending on `ends_on`; None if unset."""
    if posted_on is None or ends_on is None:
        return None
    cal = WorkCalendar(cfg)
    first = cal.nth_workday_after(posted_on, 1)
    days, d = 0, posted_on
    while d < ends_on:
        d = cal.nth_workday_after(d, 1)
        days += 1
    return NoticePeriod(days, first, ends_on)


def starting(cfg, posted_on: date, days: int) -> NoticePeriod:
    """The period of a notice of `days` working days posted on `posted_on`."""
    cal = WorkCalendar(cfg)
    return NoticePeriod(days, cal.nth_workday_after(posted_on, 1),
                        cal.nth_workday_after(posted_on, days))


def notice_text(cfg, posted_on: date | None, ends_on: date | None) -> str:
    """"5 个工作日，自 X 起算，至 Y 24:00 止" in the current language; "" if the notice is unset.
    A year the working-day calendar does not know yet is said as such: the page still shows."""
    try:
        p = period(cfg, posted_on, ends_on)
    except CalendarYearMissing as e:
        return _not_counted(e)
    return p.text() if p else ""


def from_today(cfg, days: int) -> str:
    """The period a notice of `days` working days posted today would run."""
    try:
        return starting(cfg, today_local(), days).text()
    except CalendarYearMissing as e:
        return _not_counted(e)


def _not_counted(e: CalendarYearMissing) -> str:
    log.warning("%s", e)
    return gettext("（%(year)d年的法定节假日安排尚未载入，暂无法计算公示期）", year=e.year)



def tell_applicant(cfg, app, p: NoticePeriod) -> int | None:
    """Queue, in the caller's transaction, the SMS telling the applicant that the employer's
    notice has started and how it is counted; None if the applicant has no mobile."""
    from flask_babel import force_locale

    from ..models.notify import Channel
    from ..tenancy import label
    from . import notify
    user = app.applicant
    if not user.mobile_enc:
        return None
    with force_locale("zh_Hans_CN"):  # what is sent is kept: in the default language
        subject = gettext("单位内部公示通知")
        body = gettext("%(name)s您好：您在“%(plan)s”中的职称申报已由%(org)s进行单位内部公示，"
                       "公示期：%(p)s。公示期满无异议后，单位方可推荐上报。",
                       name=user.name, plan=label(app.plan), org=label(app.holder), p=p.text())
    return notify.queue(app.tenant_id, Channel.sms.value, user.mobile, subject, body,
                        f"notice:{app.id}:{app.version}").id
