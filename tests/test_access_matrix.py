"""The access matrix, generated from the URL map: every endpoint × every role × the office's own
ids, another office's ids in the same tenant and the ids seen from another tenant, against the
one table below. A route missing from the table fails the test; so does a 500 anywhere, a status
other than the table's, or a 200 page that names a person of another office or tenant.

Another office's or tenant's ids are 404 for the roles that may use the route (never a 200 and
never a 403 that would tell that the id exists); roles that may not use it get the same answer
whatever the id (403, or 404 where the route itself is hidden from them); anonymous users are
sent to sign in."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
import time_machine

from app.extensions import db

from .conftest import PASSWORD, at
from .world import OWN_NAMES, ROLES, world_app
from .test_security_headers import assert_common_headers

APPLICANT = {"applicant"}
EMPLOYER = {"employer_clerk"}
AGENCY = {"agency_clerk"}
EXPERT = {"expert"}
HR = {"hr_county", "hr_city"}
ADMIN = {"tenant_admin"}
OFFICES = {"employer_clerk", "department_clerk", "hr_county", "hr_city", "association_clerk",
           "agency_clerk"}
STAFF = {"employer_clerk", "department_clerk", "hr_county", "hr_city", "agency_clerk",
         "tenant_admin"}
SIGNED_IN = set(ROLES) - {"anonymous"}
NOT_OFFICES = {"applicant": 403, "expert": 403, "tenant_admin": 403}
ON_ROUTE = {"employer_clerk", "agency_clerk"}
OFF_ROUTE = {"department_clerk": 404, "hr_county": 404, "hr_city": 404, "association_clerk": 404}
VERIFIERS = {"employer_clerk", "association_clerk"}
OVERSIGHT = {"department_clerk", "hr_county", "hr_city"}
ISSUERS = {"hr_city", "tenant_admin"}
CITY_HR = {"hr_city", "tenant_admin"}
WATCHERS = {"hr_county", "hr_city", "tenant_admin"}
NOT_ROUTED = {"employer_clerk": 404, "department_clerk": 404, "hr_county": 404,
              "association_clerk": 404}
# The approved self-review unit's accounts (tests/world.py: bj-self-university).
SR_UNIT = {"employer_clerk": "sr_clerk", "agency_clerk": "sr_office"}
LOGIN = 302     # anonymous: to the sign-in page
SEE_OTHER = 303  # a POST answered by a redirect (done, or refused with a message)


@dataclass(frozen=True)
class Rule:
    """Who may use an endpoint and what everyone gets.

    `allow` get `ok` on GET and `post` on POST with their own office's ids; other signed-in roles
    get `deny`; `codes` overrides single roles, whatever the ids. `scope` says whose the URL's ids
    are: "office" (another office's and another tenant's ids get `foreign`, 404), "tenant"
    (shared by the tenant's offices: only another tenant's get `foreign`) or "none" (no ids: the
    same answer everywhere). `args` fills the URL: "@key" is an id of the world, anything else is
    literal; `users` names the world's account (key) a role acts as instead of its usual one.
    `home` is the tenant whose objects the URL names. `public` pages show names by design
    (result notices)."""
    allow: frozenset | set = frozenset()
    ok: int = 200
    post: int = SEE_OTHER
    deny: int = 403
    anon: int = LOGIN
    codes: dict = field(default_factory=dict)
    foreign: int = 404
    scope: str = "office"
    args: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    home: str = "beijing"
    public: bool = False


def public(ok=200, post=200, scope="none", **kw) -> Rule:
    """A page for everyone, signed in or not (anonymous users are asked by GET)."""
    return Rule(allow=SIGNED_IN, ok=ok, post=post, anon=ok, scope=scope, public=True, **kw)


# URL values by argument name; a rule's `args` overrides them.
ARGS = {"app_id": "@app", "att_id": "@att", "session_id": "@session", "item_id": "@item",
        "entry_id": "@entry", "org_id": "@org", "plan_id": "@plan", "run_id": "@run",
        "cert_id": "@cert", "pub_id": "@pub", "obj_id": "@obj", "expert_id": "@expert_id",
        "committee_id": "@committee", "user_id": "@user", "report_id": "@report",
        "file_id": "@session_file", "number": "@cert_number", "order_no": "@order_no",
        "code": "@quota", "section": "education", "stage": "apply", "kind": "certificate",
        "complaint_id": "@complaint", "supervisor_id": "@supervisor"}

# THE TABLE: one entry per endpoint of the URL map.
ACCESS: dict[str, Rule] = {
    # public pages
    "favicon": public(ok=204),
    "public.index": public(),
    "public.home": public(),
    "public.directory": public(),
    "public.register_employer": public(),
    "public.directory_xlsx": public(scope="tenant", args={"year": 2026}),
    "public.notices": public(),
    "public.notice": public(scope="tenant", args={"notice_id": "@public_notice"}),
    # the large-text / high-contrast switch in every page's header (a cookie, then back)
    "public.display": public(post=SEE_OTHER),
    "auth.login": public(),
    "auth.register": public(),
    "auth.logout": Rule(allow=SIGNED_IN, scope="none"),
    "auth.password": Rule(allow=SIGNED_IN, scope="none", post=200),
    "home.index": Rule(allow=SIGNED_IN, scope="none"),
    "certify.verify": public(scope="tenant"),
    "certify.query": public(),
    "results.notices": public(),
    "results.objection": public(scope="tenant", args={"app_id": "@pub_app"}),
    "payments.callback": public(post=403),
    # the applicant
    "applicant.dashboard": Rule(APPLICANT, scope="none"),
    "applicant.new": Rule(APPLICANT, post=200, scope="none"),
    "applicant.conflicts": Rule(APPLICANT, post=200, scope="none"),
    "applicant.detail": Rule(APPLICANT),
    # A refused section comes back as the page holding what was typed (the world's file is
    # past editing, and the matrix posts no row).
    "applicant.save_basic": Rule(APPLICANT, post=422),
    "applicant.add_entry": Rule(APPLICANT, post=422),
    "applicant.delete_entry": Rule(APPLICANT),
    "applicant.upload": Rule(APPLICANT),
    # resumable uploads: a POST without the tus version header is refused (412); the upload
    # resource answers only HEAD, PATCH and DELETE (tests/test_resumable_uploads.py has its
    # owner / other applicant / other tenant cases)
    "applicant.upload_create": Rule(APPLICANT, post=412),
    "applicant.upload_resource": Rule(APPLICANT, args={"upload_id": "1"}),
    "applicant.delete_attachment": Rule(APPLICANT),
    "applicant.download": Rule(APPLICANT),
    "applicant.submit": Rule(APPLICANT),
    # The profile (业绩档案): the page and its add form name no id; a refused add or edit
    # answers with the page and its message (the matrix's stale version changes nothing).
    "applicant.profile": Rule(APPLICANT, scope="none"),
    "applicant.add_profile_item": Rule(APPLICANT, post=200, scope="none",
                                       args={"kind": "education"}),
    "applicant.profile_item": Rule(APPLICANT, post=200,
                                   args={"profile_item_id": "@profile_item"}),
    "applicant.delete_profile_item": Rule(APPLICANT, args={"profile_item_id": "@profile_item"}),
    "applicant.profile_scan": Rule(APPLICANT, args={"profile_item_id": "@profile_item"}),
    "certify.mine": Rule(APPLICANT, scope="none"),
    "certify.download": Rule(APPLICANT),
    "results.mine": Rule(APPLICANT, post=404, scope="none"),  # the POST names no file
    "defense.notice": Rule(APPLICANT, args={"app_id": "@defense_app"},
                           users={"applicant": "defense_applicant"}),
    "paper.form": Rule(APPLICANT, home="chifeng", args={"kind": "review"}),
    "payments.pay": Rule(APPLICANT),
    "payments.checkout": Rule(APPLICANT),
    "payments.simulator": Rule(APPLICANT, post=SEE_OTHER),
    # offices
    "office.inbox": Rule(OFFICES, scope="none"),
    # (the file is recommended: its employer handled it, the agency holds it; offices off its
    # route do not see it)
    "office.detail": Rule(ON_ROUTE, codes=OFF_ROUTE, args={"app_id": "@recommended_app"}),
    "office.download": Rule(ON_ROUTE, codes=OFF_ROUTE, args={"app_id": "@recommended_app",
                                                             "att_id": "@recommended_att"}),
    "office.act": Rule(ON_ROUTE, codes=OFF_ROUTE,
                       args={"app_id": "@recommended_app", "action": "return"}),
    # False material found (BJ-INTEG-1): the offices on the route and the committee's office;
    # the matrix's empty form is refused with its message on the page, changing nothing.
    "office.integrity": Rule(ON_ROUTE, codes=OFF_ROUTE, post=200,
                             args={"app_id": "@recommended_app"}),
    # Chifeng-only policies (Beijing, the other tenant here, answers 404 on these pages).
    # Profiles verified by the unit (CF-REG-1); the service refuses another unit's staff with
    # the same message as an unknown id.
    "office.staff": Rule(VERIFIERS, home="chifeng", deny=404, codes=NOT_OFFICES, scope="tenant"),
    "office.verify_staff": Rule(VERIFIERS, home="chifeng", deny=404, codes=NOT_OFFICES,
                                scope="tenant"),
    # One person's profile, item by item: only that person's own unit (the world's association
    # holds no one of the unit) reaches it; every other id is 404.
    "office.staff_profile": Rule(VERIFIERS, home="chifeng", deny=404,
                                 codes={**NOT_OFFICES, "association_clerk": 404}),
    "office.verify_profile_item": Rule(VERIFIERS, home="chifeng", deny=404,
                                       codes={**NOT_OFFICES, "association_clerk": 404},
                                       args={"profile_item_id": "@staff_item"}),
    "office.reject_profile_item": Rule(VERIFIERS, home="chifeng", deny=404,
                                       codes={**NOT_OFFICES, "association_clerk": 404},
                                       args={"profile_item_id": "@staff_item"}),
    "office.staff_scan": Rule(VERIFIERS, home="chifeng", deny=404,
                              codes={**NOT_OFFICES, "association_clerk": 404},
                              args={"profile_item_id": "@staff_item"}),
    # Posts (CF-POL-9): a public institution's clerk keeps them (the world's unit is a private
    # firm, so its clerk gets 404), the offices above see them.
    "office.posts": Rule(OVERSIGHT, home="chifeng", deny=404, codes=NOT_OFFICES, post=404,
                         scope="tenant"),
    "office.unit_posts": Rule(set(), home="chifeng", deny=404, codes=NOT_OFFICES,
                              args={"org_id": "@unit"}),
    # Review quotas (CF-POL-8): the city bureau oversees the teachers' senior quota.
    "office.quota_list": Rule(OVERSIGHT, home="chifeng", deny=404, codes=NOT_OFFICES,
                              scope="tenant"),
    "office.quota": Rule({"hr_city"}, home="chifeng", deny=404, codes=NOT_OFFICES, post=404,
                         scope="tenant"),
    "office.reports": Rule(OFFICES, home="chifeng", scope="none"),
    "office.report_download": Rule({"hr_county"}, home="chifeng", deny=404, codes=NOT_OFFICES),
    # an office's lists as .xlsx and the employer's notice sheet: what the office holds or handled
    "office.export": Rule(OFFICES, scope="none"),
    "office.handled_export": Rule(OFFICES, scope="none"),
    "office.notice_sheet": Rule(OFFICES, scope="none"),
    "paper.receive": Rule(OFFICES, home="chifeng", post=200, scope="none"),
    "paper.record": Rule(OFFICES, home="chifeng", scope="none"),
    # the agency
    "agency.inbox": Rule(AGENCY, scope="none"),
    # batch actions: the selection is in the form (no ids: refused with a message); a batch
    # is its office's (the agency's in the world)
    "agency.batch_preview": Rule(AGENCY, scope="none"),
    "agency.batch_run": Rule(AGENCY, scope="none"),
    "agency.batch_detail": Rule(AGENCY, args={"batch_id": "@batch"}),
    "agency.batch_undo": Rule(AGENCY, args={"batch_id": "@batch"}),
    "office.batch_preview": Rule(OFFICES, scope="none"),
    "office.batch_run": Rule(OFFICES, scope="none"),
    "office.batch_detail": Rule(AGENCY, codes={**OFF_ROUTE, "employer_clerk": 404},
                                args={"batch_id": "@batch"}),
    "office.batch_undo": Rule(AGENCY, codes={**OFF_ROUTE, "employer_clerk": 404},
                              args={"batch_id": "@batch"}),
    "agency.check": Rule(AGENCY, args={"app_id": "@recommended_app"}),
    "agency.export": Rule(AGENCY, scope="none"),
    "agency.act": Rule(AGENCY, args={"app_id": "@recommended_app", "action": "agency_return"}),
    "agency.committee_list": Rule(AGENCY, scope="none"),
    "agency.file_committee": Rule(AGENCY, post=200),
    "agency.expert_pool": Rule(AGENCY, post=200, scope="none"),
    "agency.expert_exit": Rule(AGENCY, scope="tenant"),  # one pool per tenant
    "agency.session_list": Rule(AGENCY, post=200, scope="none"),
    "agency.session_detail": Rule(AGENCY),
    "agency.session_act": Rule(AGENCY, args={"action": "add"}),
    "agency.session_file": Rule(AGENCY, args={"session_id": "@closed_session"}),
    "agency.session_roster": Rule(AGENCY, args={"session_id": "@closed_session"}),
    "defense.schedule": Rule(AGENCY, post=200),
    "defense.assign": Rule(AGENCY),
    "defense.record": Rule(AGENCY),
    "payments.windows": Rule(AGENCY, post=200, scope="none"),
    "payments.ledger": Rule(AGENCY, scope="none"),
    "payments.confirm_offline": Rule(AGENCY, args={"app_id": "@recommended_app"}),
    # (another agency's session: refused by the service with the same message as an unknown id)
    "results.report": Rule(AGENCY, scope="tenant", args={"session_id": "@closed_session"}),
    "results.publicise": Rule(AGENCY, scope="tenant", args={"session_id": "@closed_session"}),
    "results.upload": Rule(AGENCY, scope="tenant"),
    # the reporting office and the city HR bureau; anyone else's staff is told nothing
    "results.document": Rule(AGENCY | {"hr_city", "tenant_admin"}, codes={"hr_county": 404},
                             args={"file_id": "@pub_file"}),
    "results.rechecks": Rule(AGENCY, post=404, scope="none"),  # the POST names no re-check
    # experts
    "expert.agreement": Rule(EXPERT, scope="none"),
    "expert.index": Rule(EXPERT, scope="none"),
    "expert.session_detail": Rule(EXPERT),
    "expert.attendance": Rule(EXPERT),
    "expert.ballot": Rule(EXPERT),
    "expert.close": Rule(EXPERT),
    "expert.recuse": Rule(EXPERT),
    "expert.item": Rule(EXPERT),
    "expert.score": Rule(EXPERT),
    "expert.group_opinion": Rule(EXPERT),
    "expert.absence": Rule(EXPERT),
    "expert.download": Rule(EXPERT, args={"att_id": "@item_att"}),
    # the expert pool (AE-EXP-1/4/6, AE-DUTY-1, AE-SUPERV-1): recommending offices nominate and
    # the city HR bureau invites; the nominee's agency vets (another agency: 404); the city HR bureau approves
    # (one per tenant); the expert keeps their data; the employer named in a change and the
    # expert's agency check it; the session's agency records training; agencies assess.
    # applying to become a self-review unit (SR-APPLY-1): the unit, its recommending office (the
    # Haidian bureau), the city HR bureau; the department has no part in this unit's application
    "selfreview.index": Rule(EMPLOYER | {"department_clerk"} | HR, scope="none"),
    "selfreview.apply": Rule(EMPLOYER, post=200, scope="none"),
    "selfreview.detail": Rule(EMPLOYER | HR, codes={"department_clerk": 404},
                              args={"sr_id": "@self_review"}),
    "selfreview.act": Rule(EMPLOYER | HR, codes={"department_clerk": 404},
                           args={"sr_id": "@self_review", "action": "recommend"}),
    "selfreview.document": Rule(EMPLOYER | HR, codes={"department_clerk": 404},
                                args={"sr_id": "@self_review", "which": "plan"}),
    # SR-SUPERV-1: units' refused attempts beyond their scope, for the city HR bureau only
    "selfreview.supervision": Rule({"hr_city"}, scope="none"),
    # BJ23-SELF-1: entrustments are filed by self-review units (the world's employer is none:
    # 403) and decided by the entrusted bodies' clerks; only a body that accepted one sees the
    # unit's files in its scope (the world's department is no such body: 404 on every file)
    "selfreview.entrustments": Rule({"department_clerk"}, post=200, scope="none"),
    "selfreview.entrustment_act": Rule(set(), codes={"department_clerk": 404},
                                       args={"en_id": 1, "action": "accept"}),
    "selfreview.entrusted_files": Rule(set(), codes={"department_clerk": 404}, args={"en_id": 1}),
    "selfreview.entrusted_file": Rule(set(), codes={"department_clerk": 404}),
    "selfreview.entrusted_download": Rule(set(), codes={"department_clerk": 404}),
    # a self-review unit at work (SR-RUN-1): the approved unit's clerk and its committee office
    # (the world's bj-self-university); the pages are hidden from everyone else. The city HR
    # bureau approves the unit's documents and files its committees.
    "selfreview.run": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT),
    "selfreview.run_office": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT),
    "selfreview.run_staff": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT),
    "selfreview.run_documents": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT),
    "selfreview.run_documents_act": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT,
                                         args={"action": "submit_documents"}),
    "selfreview.run_document": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT,
                                    args={"which": "plan"}),
    "selfreview.run_plan_new": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT, post=200),
    "selfreview.run_plan": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT, args={"year": 2026}),
    "selfreview.run_committee": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT,
                                     args={"year": 2026}),
    "selfreview.run_open": Rule(EMPLOYER | AGENCY, deny=404, users=SR_UNIT, args={"year": 2026}),
    "selfreview.units": Rule(CITY_HR, scope="none"),
    "selfreview.unit": Rule(CITY_HR, scope="tenant", args={"setup_id": "@sr_setup"}),
    "selfreview.unit_act": Rule(CITY_HR, scope="tenant",
                                args={"setup_id": "@sr_setup", "action": "approve_documents"}),
    "selfreview.unit_document": Rule(CITY_HR, scope="tenant",
                                     args={"setup_id": "@sr_setup", "which": "standards"}),
    "selfreview.unit_committee_file": Rule(CITY_HR, scope="tenant",
                                           args={"committee_id": "@sr_committee"}),
    "pool.nominations": Rule({"department_clerk", "hr_county", "hr_city"}, post=200,
                             scope="none"),
    "pool.vetting": Rule(AGENCY, scope="none"),
    "pool.vet": Rule(AGENCY, args={"expert_id": "@nominee", "action": "vet_pass"}),
    "pool.approvals": Rule({"hr_city"}, scope="none"),
    "pool.approve": Rule({"hr_city"}, scope="tenant",
                         args={"expert_id": "@vetted", "action": "approve"}),
    "pool.profile": Rule(EXPERT, post=200, scope="none"),
    "pool.changes": Rule(EMPLOYER | AGENCY, scope="none"),
    "pool.check_change": Rule(EMPLOYER | AGENCY, args={"change_id": "@change", "action": "pass"}),
    "pool.training": Rule(AGENCY),
    "pool.assessments": Rule(AGENCY, scope="none"),
    "pool.assess": Rule(AGENCY, scope="tenant"),  # the world's expert has no agency of its own
    # HR bureaus and the tenant admin
    "admin.employers": Rule(HR | ADMIN, scope="none"),
    # (the pages are the tenant's; which bureau may decide is the transition service's check)
    "admin.decide": Rule(HR | ADMIN, scope="tenant", args={"action": "reject"}),
    "admin.jobs": Rule(HR | ADMIN, scope="none"),
    "admin.job": Rule(HR | ADMIN, scope="tenant", args={"ref": "@run_ref"}),
    "admin.retry_job": Rule(ADMIN, scope="tenant"),
    "admin.rehearsals": Rule(ADMIN, scope="none"),
    "admin.rehearsal": Rule(ADMIN, scope="tenant", args={"run_id": "@rehearsal"}),
    "admin.rehearsal_xlsx": Rule(ADMIN, scope="tenant", args={"run_id": "@rehearsal"}),
    "admin.plans": Rule(HR | ADMIN, scope="none"),
    "admin.move_close": Rule(HR | ADMIN, scope="tenant"),
    # the demo clock (演示专用): the tenant admin's, and only for a demo plan
    "admin.demo_clock_page": Rule(ADMIN, scope="none"),
    "admin.move_demo_clock": Rule(ADMIN, scope="tenant", args={"plan_id": "@demo_plan"}),
    # acceptance is the city HR bureau's: a district or county bureau is refused
    "results.acceptance": Rule({"hr_city"} | ADMIN, scope="none"),
    "results.decide": Rule({"hr_city"} | ADMIN, scope="tenant", args={"action": "send_back"}),
    "results.objections": Rule(STAFF, scope="none"),
    # only the office the objection was routed to (the employer here) resolves it
    "results.resolve": Rule(EMPLOYER, deny=404, codes={"applicant": 403, "expert": 403,
                                                       "association_clerk": 403},
                            args={"action": "reject"}),
    # agency filing, assessment, the directory and yearly notices (AE-AGENCY-1, AE-SUPERV-1,
    # BJ-DIR-1, CF-NOTICE-1); the city HR bureau's pages are for its officers and administrator
    "agencies.my_filing": Rule(AGENCY, post=200, scope="none"),
    "agencies.committee_publish": Rule(AGENCY, post=200),
    "agencies.filings": Rule(ISSUERS, scope="none"),
    "agencies.filing": Rule(ISSUERS, scope="tenant", args={"filing_id": "@filing"}),
    "agencies.decide": Rule(ISSUERS, scope="tenant",
                            args={"filing_id": "@filing", "action": "return"}),
    "agencies.assess": Rule(ISSUERS, scope="tenant", args={"agency_id": "@agency_org"}),
    "agencies.standing": Rule(ISSUERS, scope="tenant",
                              args={"agency_id": "@agency_org", "action": "lift"}),
    "agencies.new_committee": Rule(ISSUERS, post=200, scope="tenant",
                                   args={"agency_id": "@agency_org"}),
    "agencies.directory_admin": Rule(ISSUERS, scope="none"),
    "agencies.directory_publish": Rule(ISSUERS, scope="none", args={"year": 2026}),
    # filed by county bureaus and committee offices, acknowledged by the city HR bureau
    "agencies.notices_page": Rule({"hr_county", "agency_clerk"} | ISSUERS, post=200,
                                  scope="none",
                                  codes={"hr_city": {"GET": 200, "POST": 403},
                                         "tenant_admin": {"GET": 200, "POST": 403}}),
    "agencies.acknowledge_notice": Rule(ISSUERS, scope="tenant", args={"notice_id": "@notice"}),
    "agencies.notice_file": Rule({"hr_county"} | ISSUERS, args={"notice_id": "@notice"},
                                 codes={"agency_clerk": 404}),
    # complaints and reports (AE-COMPLAIN-1): anyone lodges and looks up; the office a complaint
    # was routed to (the agency here) answers; the city HR bureau sees every one
    "complaints.new": public(),
    "complaints.lookup": public(),
    "complaints.mine": Rule(SIGNED_IN, scope="none"),
    "complaints.inbox": Rule(OFFICES, scope="none"),
    "complaints.answer": Rule(AGENCY | {"hr_city"}, codes=NOT_ROUTED),
    "complaints.evidence": Rule(AGENCY | CITY_HR, codes=NOT_ROUTED),
    # the city HR bureau's oversight (AE-SUPERV-1)
    "oversight.index": Rule(CITY_HR, scope="none"),
    "oversight.export": Rule(CITY_HR, scope="none", args={"code": "stages"}),
    "oversight.complaints_list": Rule(CITY_HR, scope="none"),
    "oversight.complaints_export": Rule(CITY_HR, scope="none"),
    "oversight.find_file": Rule(CITY_HR, ok=SEE_OTHER, scope="none"),
    "oversight.trail": Rule(CITY_HR, scope="tenant"),
    "oversight.trail_export": Rule(CITY_HR, scope="tenant"),
    "oversight.sessions": Rule(CITY_HR, scope="none"),
    "oversight.appoint": Rule(CITY_HR, scope="tenant"),
    "oversight.withdraw": Rule(CITY_HR, scope="tenant"),
    # supervisory members: the county bureau's clerk is appointed to the world's sessions; the
    # city HR bureau watches any session; an HR or department clerk not appointed is told nothing
    "oversight.supervision_list": Rule(OVERSIGHT, scope="none"),
    "oversight.watch": Rule(WATCHERS, codes={"department_clerk": 404}),
    "oversight.present": Rule(WATCHERS, codes={"department_clerk": 404}),
    "oversight.watch_file": Rule(WATCHERS, codes={"department_clerk": 404},
                                 args={"session_id": "@closed_session"}),
    # The org tree (a bureau's part of it; the world's @org is a Haidian employer) and staff
    # accounts (its bureaus above and the tenant admin manage them; other offices get 404).
    "admin.orgs": Rule(HR | ADMIN, scope="none"),
    "admin.new_org": Rule(HR | ADMIN, post=200, scope="none"),
    "admin.edit_org": Rule(HR | ADMIN, post=200),
    "admin.move_org": Rule(HR | ADMIN),
    "admin.close_org": Rule(HR | ADMIN),
    "staff.accounts": Rule(HR | ADMIN, deny=404, codes={"applicant": 403, "expert": 403}),
    "staff.invite": Rule(HR | ADMIN, deny=404, codes={"applicant": 403, "expert": 403}),
    "staff.account_action": Rule(HR | ADMIN, deny=404, codes={"applicant": 403, "expert": 403},
                                 args={"user_id": "@clerk_user", "action": "enable"}),
    "staff.setup": public(ok=404, post=404, args={"token": "no-such-link"}),
    "certify.admin": Rule(ISSUERS, scope="none"),
    "certify.revoke": Rule(ISSUERS, scope="tenant"),
}


# -- the check every matrix response goes through -------------------------------------------------

def check_response(resp, expected: int) -> list[str]:
    """What is wrong with one response of the matrix (empty: nothing). Checks that every
    response must pass (security headers, caching) belong here."""
    problems = []
    if resp.status_code >= 500:
        problems.append(f"server error {resp.status_code}")
    elif resp.status_code != expected:
        problems.append(f"status {resp.status_code}, expected {expected}")
    try:
        assert_common_headers(resp)
    except (AssertionError, KeyError) as e:
        problems.append(f"security headers: {e!r}")
    # Nothing the matrix reaches is a static file: every answer is personal or per session.
    if "no-store" not in resp.headers.get("Cache-Control", "") and resp.status_code != 204:
        problems.append(f"Cache-Control {resp.headers.get('Cache-Control')!r}, not no-store")
    return problems


# -- the world and the clients ------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    with world_app(database_url, tmp_path_factory, "matrix") as w:
        yield w


class Clients:
    """One signed-in test client per (tenant, username), made on first use."""

    def __init__(self, app):
        self.app, self.by_user = app, {}

    def __call__(self, slug: str, username: str | None):
        if username is None:
            return self.app.test_client()
        key = (slug, username)
        if key not in self.by_user:
            # each its own address, so per-client limits (the certificate query) count apart
            c = self.app.test_client()
            n = len(self.by_user)
            c.environ_base["REMOTE_ADDR"] = f"10.0.{n // 250}.{n % 250 + 1}"
            resp = c.post(f"/{slug}/login", data={"username": username, "password": PASSWORD})
            assert resp.status_code == 303, (slug, username, resp.status_code)
            self.by_user[key] = c
        return self.by_user[key]

    def forget(self, slug: str, username: str | None) -> None:
        self.by_user.pop((slug, username), None)


def url_for_rule(app, rule, values: dict) -> str:
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def fill(rule, spec: Rule, ids: dict, slug: str) -> dict:
    values = {"tenant": slug} if "tenant" in rule.arguments else {}
    for name in rule.arguments - {"tenant"}:
        value = spec.args.get(name, ARGS.get(name))
        if value is None:
            raise AssertionError(f"{rule.endpoint}: no value for URL argument {name!r}; "
                                 f"add it to ARGS or to the entry's args")
        if isinstance(value, str) and value.startswith("@"):
            value = ids.get(value[1:], 999999 if name.endswith("_id") else "missing")
        values[name] = value
    return values


def expected(spec: Rule, method: str, role: str, scope: str) -> int:
    if role == "anonymous":
        return spec.anon if not spec.public else spec.ok if method == "GET" else spec.post
    if role in spec.allow and role not in spec.codes and (
            (scope == "other tenant" and spec.scope != "none")
            or (scope == "other office" and spec.scope == "office")):
        return spec.foreign
    if role in spec.codes:
        code = spec.codes[role]
        return code[method] if isinstance(code, dict) else code
    if role in spec.allow:
        return spec.ok if method == "GET" else spec.post
    return spec.deny


def routes(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                  key=lambda r: r.endpoint)


# -- the tests ------------------------------------------------------------------------------------

def test_every_endpoint_has_an_entry(world):
    app, _ = world
    missing = [r.endpoint for r in routes(app) if r.endpoint not in ACCESS]
    assert not missing, "\n".join(f"add an entry for {e} to ACCESS in tests/test_access_matrix.py"
                                  for e in missing)
    stale = set(ACCESS) - {r.endpoint for r in routes(app)}
    assert not stale, f"entries for endpoints that no longer exist: {sorted(stale)}"


HARMLESS = {"version": "-1"}  # any versioned change is refused as stale: the world stays put


def _run_matrix(app, sides, observe: dict | None = None, only: set | None = None) -> list[str]:
    clients = Clients(app)
    failures = []
    for rule in routes(app):
        if only is not None and rule.endpoint not in only:
            continue
        spec = ACCESS.get(rule.endpoint) or (Rule() if observe is not None else None)
        if spec is None:
            continue
        home = sides[spec.home]
        away = sides["chifeng" if spec.home == "beijing" else "beijing"]
        secrets = OWN_NAMES[home.slug]
        for method in sorted(rule.methods & {"GET", "POST"}):
            cases = [("own", home.slug, None, "anonymous")]
            cases += [("own", home.slug, home.own[r], r) for r in ROLES if r in home.own]
            cases += [("other office", home.slug, home.other[r], r) for r in ROLES
                      if r in home.other]
            cases += [("other tenant", away.slug, away.own[r], r) for r in ROLES if r in away.own]
            for scope, slug, username, role in cases:
                url = url_for_rule(app, rule, fill(rule, spec, home.ids, slug))
                if scope == "own" and role in spec.users:
                    username = home.ids[spec.users[role]]
                client = clients(slug, username)
                try:  # the test client raises what the view raised (TESTING propagates it)
                    resp = (client.get(url) if method == "GET"
                            else client.post(url, data=HARMLESS))
                except Exception as e:  # noqa: BLE001 - any of them is a server error
                    failures.append(f"{method} {url} as {role} ({username}, {scope}): server "
                                    f"error {type(e).__name__}: {e}"[:400])
                    continue
                if rule.endpoint == "auth.logout":
                    clients.forget(slug, username)
                want = expected(spec, method, role, scope)
                where = f"{method} {url} as {role} ({username or '-'}, {scope})"
                if observe is not None:
                    observe.setdefault(rule.endpoint, {}).setdefault(
                        (method, scope), {})[role] = resp.status_code
                problems = check_response(resp, want)
                body = resp.get_data() if resp.status_code == 200 else b""
                if scope != "own" and not spec.public:
                    problems += [f"shows {n}" for n in secrets if n.encode() in body]
                failures += [f"{where}: {p}" for p in problems]
    return failures


SHARDS = 2  # the matrix in contiguous parts of the sorted routes, each over a world of its own


def shard_of(app, shard: int) -> set[str]:
    """The endpoints of one part: the sorted routes cut into SHARDS runs of similar length."""
    endpoints = list(dict.fromkeys(r.endpoint for r in routes(app)))
    size = -(-len(endpoints) // SHARDS)
    return set(endpoints[shard * size:(shard + 1) * size])


@pytest.fixture
def fresh_world(database_url, tmp_path_factory, request):
    with world_app(database_url, tmp_path_factory, f"matrix{request.param}") as w:
        yield w, request.param


@pytest.mark.timeout(1200)  # a loaded PostgreSQL run takes minutes per part
@pytest.mark.parametrize("fresh_world", range(SHARDS), indirect=True,
                         ids=[f"part{i + 1}" for i in range(SHARDS)])
def test_access_matrix(fresh_world):
    """Every endpoint × role × scope answers as the table says; no 500, no leak."""
    (app, sides), shard = fresh_world
    observe = {} if os.environ.get("MATRIX_OBSERVE") else None
    with time_machine.travel(at(2026, 12, 10, 10), tick=False):
        failures = _run_matrix(app, sides, observe, only=shard_of(app, shard))
    if observe is not None:
        for endpoint, by in observe.items():
            print(endpoint)
            for (method, scope), codes in by.items():
                print(f"   {method:4} {scope:13}", " ".join(f"{r}={c}" for r, c in codes.items()))
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:200])
