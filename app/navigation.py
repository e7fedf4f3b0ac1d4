"""The header's navigation: the pages the signed-in user can actually use, decided by the same
predicates (app/workflow/abilities.py) the routes guard those pages with. base.html renders
`nav_entries()` as it comes; nothing about roles is decided in the template."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .models import Role
from .workflow import abilities
from .workflow.calendar import today_local


@dataclass(frozen=True)
class Entry:
    endpoint: str
    label: object  # a lazy msgid
    args: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **self.args)

    @property
    def current(self) -> bool:
        return request.endpoint == self.endpoint


def entries_for(cfg, user) -> list[Entry]:
    """What `user` (signed in, of `cfg`'s tenant) is offered, in the order shown."""
    if not getattr(user, "is_authenticated", False):
        return []
    role = user.role
    out = [Entry("home.index", _l("首页"))]
    if role == Role.applicant.value:
        out += [Entry("applicant.dashboard", _l("我的申报")),
                Entry("applicant.profile", _l("我的业绩档案")),
                Entry("results.mine", _l("评审结果")),
                Entry("certify.mine", _l("我的电子证书"))]
    elif role == Role.expert.value:
        out.append(Entry("expert.index", _l("我的评审会")))
    elif role == Role.agency_clerk.value:
        out += [Entry("agency.inbox", _l("评审服务")),
                Entry("agency.session_list", _l("评审会")),
                Entry("agency.committee_list", _l("评委会备案")),
                Entry("agency.expert_pool", _l("专家库"))]
        if cfg.policies.fee_required:
            out.append(Entry("payments.windows", _l("缴费设置")))
        out.append(Entry("results.rechecks", _l("复查申请")))
    elif abilities.is_office(user):
        out.append(Entry("office.inbox", _l("待办")))
    if abilities.is_office(user):
        if abilities.uses_paper(user.tenant_id):
            out.append(Entry("paper.receive", _l("纸质材料接收登记")))
        out.append(Entry("office.reports", _l("推荐报表")))
    if abilities.may_verify_staff(cfg, user):
        out.append(Entry("office.staff", _l("人员信息审核")))
    if abilities.may_approve_employers(cfg, user):
        out.append(Entry("admin.employers", _l("单位审核")))
    if abilities.may_accept_results(user):
        out.append(Entry("results.acceptance", _l("结果验收")))
    if abilities.may_handle_objections(user):
        out.append(Entry("results.objections", _l("异议核查")))
    if abilities.may_see_posts(cfg, user):
        out.append(Entry("office.posts", _l("岗位设置")))
    if abilities.may_see_quotas(cfg, user):
        out.append(Entry("office.quota_list", _l("名额分配")))
    if abilities.may_issue_certificates(user):
        out.append(Entry("certify.admin", _l("证书查验与撤销")))
    if abilities.may_see_console(user):
        out += [Entry("admin.plans", _l("申报计划")), Entry("admin.jobs", _l("任务"))]
    return out + _running_the_year(cfg, user)


def _running_the_year(cfg, user) -> list[Entry]:
    """Agencies, the directory, yearly notices, the expert pool, complaints, supervision, the
    org tree and staff accounts: each entry under the check its route makes."""
    from .workflow import agencies, complaints, notices, supervision
    from .workflow.actors import Actor
    from .workflow.directed import is_city_hr
    role, actor = user.role, Actor.of(user)
    city = agencies.is_city_hr(actor)
    out = []
    if role == Role.agency_clerk.value:
        out += [Entry("agencies.my_filing", _l("机构备案")),
                Entry("pool.vetting", _l("入库审核")),
                Entry("pool.changes", _l("专家信息核对")),
                Entry("pool.assessments", _l("专家年度考核"))]
    elif role == Role.employer_clerk.value:
        out.append(Entry("pool.changes", _l("专家信息核对")))
    elif role == Role.expert.value:
        out.append(Entry("pool.profile", _l("我的专家信息")))
    if role == Role.department_clerk.value or (
            role == Role.hr_officer.value and not is_city_hr(user.org_id)):
        out.append(Entry("pool.nominations", _l("推荐专家入库")))
    if role == Role.hr_officer.value and is_city_hr(user.org_id):
        out += [Entry("pool.nominations", _l("邀请专家入库")),
                Entry("pool.approvals", _l("专家入库批准"))]
    if city:
        out += [Entry("agencies.filings", _l("评审服务机构备案与考核")),
                Entry("agencies.directory_admin", _l("名录"))]
    if city or notices.may_file(actor, user.org):
        out.append(Entry("agencies.notices_page", _l("年度评审工作通知")))
    if role in complaints.ANSWERING_ROLES:
        out.append(Entry("complaints.inbox", _l("投诉举报办理")))
    if complaints.is_city_hr(actor):
        out += [Entry("oversight.index", _l("监督统计")),
                Entry("oversight.complaints_list", _l("投诉举报")),
                Entry("oversight.sessions", _l("监督委员委派"))]
    if role in supervision.SUPERVISOR_ROLES:
        out.append(Entry("oversight.supervision_list", _l("评审监督")))
    from .workflow.self_review import VIEWER_ROLES as SELF_REVIEW_VIEWERS
    if role in SELF_REVIEW_VIEWERS:
        out.append(Entry("selfreview.index", _l("职称自主评审单位申请")))
    if role in (Role.hr_officer.value, Role.tenant_admin.value):
        out.append(Entry("admin.orgs", _l("机构管理")))
    if getattr(user, "office_admin", False) and user.org_id is not None:
        out.append(Entry("staff.accounts", _l("工作人员账号"), {"org_id": user.org_id}))
    return out


# Registered entries other parts add: (endpoint, label, predicate(cfg, user) -> bool), shown
# after the built-in ones. `register` is the one call a new page needs.
EXTRA: list[tuple[str, object, object]] = []


def register(endpoint: str, label, predicate) -> None:
    """Show `endpoint` (with `label`) to every user for whom predicate(cfg, user) holds."""
    EXTRA.append((endpoint, label, predicate))


def nav_entries() -> list[Entry]:
    """The current request's entries: computed once per request, and kept between requests
    while nothing is written (they read the user's office, the plans and the org tree; the
    date is in the key)."""
    if "nav_entries" not in g:
        cfg = g.get("tenant")
        if cfg is None or not current_user.is_authenticated:
            g.nav_entries = []
        else:
            def compute() -> tuple[Entry, ...]:
                return (*entries_for(cfg, current_user),
                        *(Entry(e, lbl) for e, lbl, pred in EXTRA if pred(cfg, current_user)))
            cache = current_app.extensions.get("pagecache")
            # The registered extras are in the key: one registered later shows at once.
            key = ("nav", current_user.id, today_local(), tuple(e for e, _, _ in EXTRA))
            g.nav_entries = list(cache.remember(key, compute) if cache else compute())
    return g.nav_entries
