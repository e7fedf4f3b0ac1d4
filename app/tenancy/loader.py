"""Load tenants/<slug>/ folders into frozen, cross-checked TenantConfig objects."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .schema import (
    COMMITTEE_SEATS, POLICY_PARAMS,
    CalendarFile, ChecklistFile, DemoFile, DirectoryFile, OrgKind, OrgsFile, PlansFile, PoliciesFile,
    PledgeFile, RoutingFile, TenantFile, Tier,
)

M = TypeVar("M", bound=BaseModel)


class TenantConfigError(Exception):
    """A tenant file is missing or wrong; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class TenantConfig:
    slug: str
    path: Path
    tenant: TenantFile
    orgs: OrgsFile
    plans: PlansFile
    routing: RoutingFile
    checklist: ChecklistFile
    policies: PoliciesFile
    directory: DirectoryFile
    calendars: dict[int, CalendarFile] = field(default_factory=dict)
    demo: DemoFile | None = None
    # The personal integrity pledge signed on submitting (pledge.toml); None: the tenant has none.
    pledge: PledgeFile | None = None

    @property
    def name(self) -> str:
        return self.tenant.name

    def level(self, code: str):
        return next((lv for lv in self.tenant.levels if lv.code == code), None)

    def series(self, code: str):
        return next((s for s in self.tenant.series if s.code == code), None)

    def specialty(self, series_code: str, code: str):
        s = self.series(series_code)
        return next((sp for sp in s.specialties if sp.code == code), None) if s else None

    def district(self, code: str):
        return next((d for d in self.tenant.districts if d.code == code), None)

    def material(self, code: str):
        return next((m for m in self.checklist.material if m.code == code), None)

    def committee(self, code: str):
        return next((c for c in self.directory.committee if c.code == code), None)

    def qualification(self, code: str | None):
        """A professional (domestic) or international qualification by code (BJ-EQUIV-1/2)."""
        tables = (*self.policies.professional_qualification,
                  *self.policies.international_qualification)
        return next((q for q in tables if q.code == code), None) if code else None

    def policy(self, code: str | None):
        return next((p for p in self.policies.policy if p.code == code), None) if code else None


def _read(path: Path, model: type[M]) -> M:
    if not path.is_file():
        raise TenantConfigError(f"{path}: file is missing")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise TenantConfigError(f"{path}: not valid TOML: {e}") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise TenantConfigError(f"{path}: key {key}: {first['msg']}{more}") from None


def _check(path: Path, key: str, ok: bool, problem: str) -> None:
    if not ok:
        raise TenantConfigError(f"{path}: key {key}: {problem}")


def _check_route_rules(f: Path, routing: RoutingFile, tenant: TenantFile,
                       policies: PoliciesFile) -> None:
    """Every `when` value names something the tenant has: a typo would silently never match."""
    specialties = {sp.code for s in tenant.series for sp in s.specialties}
    known = {"person_type": set(tenant.person_types),
             "employer_kind": {k.value for k in tenant.employer_kinds},
             "series": {s.code for s in tenant.series}, "specialty": specialties,
             "tier": {t.value for t in Tier}, "committee_tier": {t.value for t in Tier},
             "committee_seat": set(COMMITTEE_SEATS),
             "policy": {p.code for p in policies.policy}}
    for i, rule in enumerate(routing.route):
        for key, want in rule.when.items():
            wanted = want if isinstance(want, list) else [want]
            if key.startswith("level_rank_"):
                _check(f, f"route.{i}.when.{key}",
                       len(wanted) == 1 and isinstance(wanted[0], int) and 1 <= wanted[0] <= 5,
                       "expected a level rank from 1 to 5")
            else:
                _check(f, f"route.{i}.when.{key}",
                       all(isinstance(w, str) for w in wanted) and set(wanted) <= known[key],
                       f"unknown value(s) {sorted(map(str, set(wanted) - known[key]))}")


def _check_quotas(f: Path, policies: PoliciesFile, tenant: TenantFile, org_codes: dict) -> None:
    """Post-structure kinds the tenant has; review quotas on a known series and level, shared
    out by an office in orgs.toml, one per code."""
    kinds = set(policies.post_structure_kinds) - set(tenant.employer_kinds)
    unknown = sorted(k.value for k in kinds)
    _check(f, "post_structure_kinds", not unknown, f"unknown employer kind(s) {unknown}")
    codes = [q.code for q in policies.review_quota]
    for i, q in enumerate(policies.review_quota):
        series = next((s for s in tenant.series if s.code == q.series), None)
        _check(f, f"review_quota.{i}.code", codes.count(q.code) == 1, f"{q.code!r} is repeated")
        _check(f, f"review_quota.{i}.series", series is not None, f"unknown series {q.series!r}")
        _check(f, f"review_quota.{i}.level", q.level in series.levels,
               f"{q.level!r} is not a level of series {q.series!r}")
        office = org_codes.get(q.allocator)
        _check(f, f"review_quota.{i}.allocator",
               office is not None and office.kind in (OrgKind.department, OrgKind.hr_bureau),
               f"{q.allocator!r} is not a department or hr_bureau in orgs.toml")


def _check_policy_rules(f: Path, policies: PoliciesFile, tenant: TenantFile,
                        plans: PlansFile) -> None:
    """Preferential policies (五(三)–(六)): unique codes; params, tracks and progression naming
    levels, series and specialties the tenant has; reserved plans that exist, one policy each."""
    levels = {lv.code for lv in tenant.levels}
    known = {"levels": levels, "series": {s.code for s in tenant.series},
             "specialties": {sp.code for s in tenant.series for sp in s.specialties}}
    plan_codes = {p.code for p in plans.plan}
    codes = [r.code for r in policies.policy]
    reserved = [c for r in policies.policy for c in r.plans]
    for i, r in enumerate(policies.policy):
        _check(f, f"policy.{i}.code", codes.count(r.code) == 1, f"{r.code!r} is repeated")
        for key, vocab in POLICY_PARAMS[r.kind].items():
            bad = sorted(set(r.params[key]) - known[vocab]) if vocab in known else []
            _check(f, f"policy.{i}.params.{key}", not bad, f"unknown {vocab} {bad}")
        for j, t in enumerate(r.tracks):
            _check(f, f"policy.{i}.tracks.{j}.level", t.level in levels,
                   f"unknown level {t.level!r}")
        _check(f, f"policy.{i}.plans", set(r.plans) <= plan_codes,
               f"unknown plan(s) {sorted(set(r.plans) - plan_codes)}")
        _check(f, f"policy.{i}.plans", all(reserved.count(c) == 1 for c in r.plans),
               "a plan is reserved for one policy only")
    if policies.progression is not None:
        bad = sorted(set(policies.progression.years) - levels)
        _check(f, "progression.years", not bad, f"unknown level(s) {bad}")


def load_tenant(folder: Path) -> TenantConfig:
    folder = Path(folder)
    tenant = _read(folder / "tenant.toml", TenantFile)
    orgs = _read(folder / "orgs.toml", OrgsFile)
    plans = PlansFile(plan=[p for f in sorted((folder / "plans").glob("*.toml"))
                            for p in _read(f, PlansFile).plan])
    routing = _read(folder / "routing.toml", RoutingFile)
    checklist = _read(folder / "checklists.toml", ChecklistFile)
    policies = _read(folder / "policies.toml", PoliciesFile)
    directory = _read(folder / "directory.toml", DirectoryFile)
    calendars = {}
    for f in sorted((folder / "calendar").glob("*.toml")):
        cal = _read(f, CalendarFile)
        _check(f, "year", f.stem == str(cal.year), f"year {cal.year} does not match file name")
        calendars[cal.year] = cal
    demo = _read(folder / "demo.toml", DemoFile) if (folder / "demo.toml").is_file() else None
    pledge = (_read(folder / "pledge.toml", PledgeFile) if (folder / "pledge.toml").is_file()
              else None)

    levels = {lv.code for lv in tenant.levels}
    series = {s.code for s in tenant.series}
    org_codes = {o.code: o for o in orgs.org}
    districts = {d.code for d in tenant.districts}
    for i, o in enumerate(orgs.org):
        f = folder / "orgs.toml"
        _check(f, f"org.{i}.parent", o.parent is None or o.parent in org_codes,
               f"unknown org {o.parent!r}")
        _check(f, f"org.{i}.district", o.district is None or o.district in districts,
               f"unknown district {o.district!r}")
        for j, pair in enumerate(o.self_review_scope):
            known = next((s for s in tenant.series if s.code == pair.series), None)
            _check(f, f"org.{i}.self_review_scope.{j}",
                   o.kind == OrgKind.self_review_unit and known is not None
                   and pair.level in known.levels,
                   f"{pair.series}:{pair.level} is not a series and level of this tenant "
                   "or the org is no self-review unit")
    for i, d in enumerate(tenant.districts):
        hr = org_codes.get(d.hr_bureau)
        _check(folder / "tenant.toml", f"districts.{i}.hr_bureau",
               hr is not None and hr.kind == OrgKind.hr_bureau,
               f"{d.hr_bureau!r} is not an hr_bureau in orgs.toml")
    for i, p in enumerate(plans.plan):
        _check(folder / "plans", f"plan.{i}.levels", set(p.levels) <= levels,
               f"unknown level(s) {sorted(set(p.levels) - levels)}")
        _check_mode_rules(folder / "plans", f"plan.{i}", p.mode, levels, series)
    if demo is not None and demo.demo_plan is not None:
        _check_mode_rules(folder / "demo.toml", "demo_plan", demo.demo_plan.mode, levels, series)
    for i, c in enumerate(directory.committee):
        f = folder / "directory.toml"
        ag = org_codes.get(c.agency)
        _check(f, f"committee.{i}.agency",
               ag is not None and ag.kind in (OrgKind.agency, OrgKind.self_review_unit),
               f"{c.agency!r} is not an agency or self-review unit in orgs.toml")
        _check(f, f"committee.{i}.series", set(c.series) <= series,
               f"unknown series {sorted(set(c.series) - series)}")
        _check(f, f"committee.{i}.levels", set(c.levels) <= levels,
               f"unknown level(s) {sorted(set(c.levels) - levels)}")
    for i, a in enumerate(directory.agency):
        ag = org_codes.get(a.code)
        _check(folder / "directory.toml", f"agency.{i}.code",
               ag is not None and ag.kind in (OrgKind.agency, OrgKind.self_review_unit),
               f"{a.code!r} is not an agency or self-review unit in orgs.toml")
    committees = {c.code for c in directory.committee}
    for i, dc in enumerate(routing.district_committee):
        f = folder / "routing.toml"
        named = set(dc.by_district.values()) | {dc.default}
        _check(f, f"district_committee.{i}", named <= committees,
               f"unknown committee(s) {sorted(named - committees)}")
        _check(f, f"district_committee.{i}.by_district", set(dc.by_district) <= districts,
               f"unknown district(s) {sorted(set(dc.by_district) - districts)}")
        _check(f, f"district_committee.{i}.series", set(dc.series) <= series,
               f"unknown series {sorted(set(dc.series) - series)}")
        _check(f, f"district_committee.{i}.levels", set(dc.levels) <= levels,
               f"unknown level(s) {sorted(set(dc.levels) - levels)}")
    _check_route_rules(folder / "routing.toml", routing, tenant, policies)
    pol = folder / "policies.toml"
    for key, codes in (("high_skill_series", policies.high_skill_series or []),
                       ("freelancer_series", policies.freelancer_series or [])):
        _check(pol, key, set(codes) <= series, f"unknown series {sorted(set(codes) - series)}")
    for table in ("professional_qualification", "international_qualification"):
        for i, q in enumerate(getattr(policies, table)):
            _check(pol, f"{table}.{i}.counts_as", q.counts_as in levels,
                   f"unknown level {q.counts_as!r}")
            _check(pol, f"{table}.{i}.series", set(q.series) <= series,
                   f"unknown series {sorted(set(q.series) - series)}")
    quals = [q.code for t in ("professional_qualification", "international_qualification")
             for q in getattr(policies, t)]
    _check(pol, "international_qualification", len(quals) == len(set(quals)),
           "a qualification code is repeated")
    for i, c in enumerate(policies.central_catalogue):
        known = next((s for s in tenant.series if s.code == c.series), None)
        _check(pol, f"central_catalogue.{i}.series", known is not None,
               f"unknown series {c.series!r}")
        if known is not None:
            specs = {sp.code for sp in known.specialties}
            _check(pol, f"central_catalogue.{i}.specialties", set(c.specialties) <= specs,
                   f"unknown specialties {sorted(set(c.specialties) - specs)}")
            _check(pol, f"central_catalogue.{i}.levels", set(c.levels) <= set(known.levels),
                   f"level(s) not of the series {sorted(set(c.levels) - set(known.levels))}")
    if policies.certificates is not None:
        issuer = org_codes.get(policies.certificates.issuer)
        _check(pol, "certificates.issuer", issuer is not None and issuer.kind == OrgKind.hr_bureau,
               f"{policies.certificates.issuer!r} is not an hr_bureau in orgs.toml")
    for i, code in enumerate(policies.self_review.academic_review_bodies):
        body = org_codes.get(code)
        _check(pol, f"self_review.academic_review_bodies.{i}",
               body is not None and body.kind == OrgKind.department,
               f"{code!r} is not a department in orgs.toml")
    _check_quotas(pol, policies, tenant, org_codes)
    _check_policy_rules(pol, policies, tenant, plans)
    return TenantConfig(folder.name, folder, tenant, orgs, plans, routing, checklist, policies,
                        directory, calendars, demo, pledge)


def _check_mode_rules(f: Path, key: str, rules, levels: set[str], series: set[str]) -> None:
    """A review-mode rule names levels and series the tenant has (a misspelt one would never
    match and leave files in the plan's default mode)."""
    for j, rule in enumerate(rules):
        for fact, known in (("level", levels), ("series", series)):
            want = rule.when.get(fact)
            codes = set(want if isinstance(want, list) else [want]) if want is not None else set()
            _check(f, f"{key}.mode.{j}.when.{fact}", codes <= known,
                   f"unknown {fact} {sorted(codes - known)}")


def load_tenants(root: Path | str) -> dict[str, TenantConfig]:
    """Every sub-folder holding a tenant.toml is a tenant; its folder name is its slug."""
    root = Path(root)
    if not root.is_dir():
        raise TenantConfigError(f"{root}: tenants folder is missing")
    found = {}
    for folder in sorted(p for p in root.iterdir() if (p / "tenant.toml").is_file()):
        found[folder.name] = load_tenant(folder)
    if not found:
        raise TenantConfigError(f"{root}: no tenant folder (with a tenant.toml) found")
    return found
