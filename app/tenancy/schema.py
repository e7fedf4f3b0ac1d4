"""The shape of a tenant folder (tenants/<slug>/*.toml), validated with pydantic.

Every model forbids unknown keys, so a typo in a tenant file is reported rather than ignored.
"""
from __future__ import annotations

from datetime import date
from enum import Enum
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    name: str
    name_en: str


class OrgKind(str, Enum):
    hr_bureau = "hr_bureau"              # 人力资源和社会保障局
    department = "department"            # 主管部门
    employer = "employer"                # 用人单位
    association = "association"          # 协会/学会
    agency = "agency"                    # 评审服务机构
    self_review_unit = "self_review_unit"  # 自主评审单位


class Tier(str, Enum):
    region = "region"
    city = "city"
    county = "county"


class EmployerKind(str, Enum):
    state_owned = "state_owned"          # 国有企事业单位
    public_institution = "public_institution"  # 事业单位
    non_public = "non_public"            # 非公有制经济组织
    social_org = "social_org"            # 社会组织
    central_unit = "central_unit"        # 中央在京/驻地单位
    other_province = "other_province"    # 外省区驻地单位


class EnterpriseFlag(str, Enum):
    """Enterprise honours that put the unit's staff in a review group of their own (CF-GROUP-1)."""
    specialised_sme = "specialised_sme"    # 专精特新中小企业
    single_champion = "single_champion"    # 制造业单项冠军企业


class ReviewGroup(str, Enum):
    """Review groups of their own (单独分组) within a session (CF-GROUP-1)."""
    enterprise = "enterprise"    # 专精特新 / 单项冠军 enterprises
    non_public = "non_public"    # the non-public sector
    county = "county"            # units of a 旗县区
    township = "township"        # units in a 苏木乡镇


class ResultDocument(str, Enum):
    """Documents reported with a session's results (CF-RESULT-1)."""
    approval_report = "approval_report"      # 评审结果审批（核准）报告
    publicity_record = "publicity_record"    # 公示情况（含公示期间举报事项处理结果）
    passed_roster = "passed_roster"          # 职称评审通过人员花名册
    committee_pledge = "committee_pledge"    # 评委会书面承诺书


class Condition(str, Enum):
    """Closed vocabulary for when a checklist item is required; the engine evaluates each."""
    always = "always"
    freelancer = "freelancer"
    central_unit_letter = "central_unit_letter"
    poge = "poge"
    exam_required = "exam_required"
    intl_qualification = "intl_qualification"
    high_skill = "high_skill"
    # Unless the chosen preferential policy waives continuing education (CF-POL-4, CF-POL-5).
    continuing_education = "continuing_education"


class StepKind(str, Enum):
    """Who holds an application at a route step; resolved from the applicant's employer."""
    employer = "employer"
    supervising_department = "supervising_department"
    county_hr = "county_hr"
    city_hr = "city_hr"
    region_hr = "region_hr"
    agency = "agency"
    # The department of the application's series (orgs.toml `series`) at the employer's county,
    # or at the city: e.g. the education bureau for teachers, the housing bureau for construction.
    county_department = "county_department"
    city_department = "city_department"


class Level(Named):
    rank: int = Field(ge=1, le=5)
    defense: bool = False


class Specialty(Named):
    pass


class Series(Named):
    levels: list[str]
    specialties: list[Specialty] = []


class District(Named):
    tier: Tier = Tier.county
    hr_bureau: str


class TenantFile(Strict):
    name: str
    name_en: str
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    flow: Literal["single_window", "tiered"]
    person_types: list[Literal["professional", "high_skill", "freelancer", "civil_servant"]]
    employer_kinds: list[EmployerKind]
    levels: list[Level]
    series: list[Series]
    districts: list[District]
    # The identity documents applicants may register with (app/workflow/ids.py DOCUMENTS), the
    # first one preselected; "passport" goes with the foreigner's work-permit number.
    id_documents: list[Literal["resident_id", "hmt_residence", "hk_macao_permit",
                               "taiwan_permit", "foreign_pr", "passport"]] = Field(
        default=["resident_id"], min_length=1)

    @model_validator(mode="after")
    def _series_levels_known(self):
        known = {lv.code for lv in self.levels}
        for s in self.series:
            bad = [lv for lv in s.levels if lv not in known]
            if bad:
                raise ValueError(f"series {s.code!r} names unknown level(s) {bad}")
        return self


class ScopePair(Strict):
    series: str
    level: str


class OrgSeed(Named):
    kind: OrgKind
    tier: Tier | None = None
    district: str | None = None
    parent: str | None = None
    # For departments: the series whose applications they route (e.g. the education bureau).
    series: list[str] = []
    # For self-review units whose authority was filed before the portal (赤峰 2026 notice 五(一)1:
    # "按照职称评委会备案的评审专业、层级、范围"): the series and levels they evaluate. An
    # approval the city HR bureau records in the portal takes precedence (SR-SCOPE-1).
    self_review_scope: list[ScopePair] = []


class OrgsFile(Strict):
    org: list[OrgSeed]


class Window(Strict):
    """Inclusive calendar dates in the tenant's timezone: open 00:00:00 to close 23:59:59."""
    opens: date
    closes: date

    @model_validator(mode="after")
    def _ordered(self):
        if self.closes < self.opens:
            raise ValueError("closes is before opens")
        return self


ModeName = Literal["named", "online_blind", "online_blind_paper", "offline_paper"]


class ModeRule(Strict):
    """A review mode for part of a plan: the first rule whose `when` holds wins (CF-MODE-4)."""
    when: dict[Literal["committee_tier", "committee_kind", "series", "specialty", "committee",
                       "level"],
               str | list[str]]
    review_mode: ModeName


class PlanSeed(Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    year: int = Field(ge=2000, le=2100)
    name: str
    name_en: str
    levels: list[str]
    review_mode: ModeName
    mode: list[ModeRule] = []
    windows: dict[Literal["apply", "employer_review", "tier_report", "agency_check",
                          "paper_to_city", "review"], Window]

    @field_validator("windows")
    @classmethod
    def _apply_window(cls, v):
        if "apply" not in v:
            raise ValueError("a plan needs an 'apply' window")
        return v


class PlansFile(Strict):
    plan: list[PlanSeed]


# Where a file's committee sits seen from the file's own county (routing `committee_seat`): in
# that county, in another county, at the city or at the region.
COMMITTEE_SEATS = ("own_county", "other_county", "city", "region")


class RouteRule(Strict):
    """First matching rule wins. An empty `when` matches everyone."""
    when: dict[Literal["person_type", "employer_kind", "series", "level_rank_max", "tier",
                       "specialty", "level_rank_min", "committee_tier", "committee_seat",
                       "policy"],
               str | int | list[str]] = {}
    steps: list[StepKind]
    recommender: Literal["employer", "association"] = "employer"


class DistrictCommittee(Strict):
    """A specialty (or series and levels) reviewed by a committee chosen from the employer's
    district: joint or entrusted review where a district has no committee of its own."""
    specialty: str | None = None
    series: list[str] = []
    levels: list[str] = []
    by_district: dict[str, str]
    default: str

    @model_validator(mode="after")
    def _scoped(self):
        if self.specialty is None and not self.series:
            raise ValueError("a district_committee names a specialty or series")
        return self


class RoutingFile(Strict):
    route: list[RouteRule]
    district_committee: list[DistrictCommittee] = []
    # Who looks into an objection about the truth of a file's materials: the first office of
    # these kinds on the file's route; empty, or none on the route: the employer (or the
    # freelancer's association).
    material_objection: list[StepKind] = []


class Material(Named):
    required_when: Condition | None = None
    min_count: int = Field(default=1, ge=1)
    # At most this many scans of it per application (None: no limit), each at most max_mb
    # (None: the deployment's MAX_UPLOAD_MB, which also caps a larger value here).
    max_count: int | None = Field(default=None, ge=1)
    max_mb: int | None = Field(default=None, ge=1)
    # Withheld from blind reviewers: the scan itself shows who the applicant is.
    blind_hidden: bool = False


class ChecklistFile(Strict):
    material: list[Material]


class ExamRule(Strict):
    series: list[str]
    levels: list[str]
    # A passing score counts for this many years, the exam's own year included (None: no limit).
    valid_years: int | None = Field(default=None, ge=1, le=10)


class PogeRule(Strict):
    levels: list[str]
    min_recommenders: int = Field(ge=1)


class QualificationTrack(Strict):
    """Education at least `education`, then `years` of professional work since graduating."""
    education: EducationLevel
    years: int = Field(ge=0, le=60)


class Qualification(Named):
    """A professional qualification that counts as a title (BJ-EQUIV-1, BJ-EQUIV-2): with the
    education and years of one of its `tracks` (the series measures' conditions for that level),
    it counts as `counts_as` and is a basis for applying one level up."""
    counts_as: str  # a level code
    # The series it corresponds to (empty: the series applied for).
    series: list[str] = []
    # Any one met; empty: the qualification alone.
    tracks: list[QualificationTrack] = []


class CatalogueEntry(Strict):
    """A series (or some of its specialties) at the given levels, filed in the central units'
    senior-committee catalogue (中央单位高级职称评审委员会备案目录): not accepted for entrusted
    review of central-unit staff (BJ-CENTRAL-1)."""
    series: str
    specialties: list[str] = []  # empty: the whole series
    levels: list[str]


class CertificatePolicy(Strict):
    """E-certificates and result letters (BJ-CERT-1) and the integrity record (BJ-INTEG-1)."""
    issuer: str  # the hr_bureau (an orgs.toml code) named on certificates as issuing them
    number_prefix: str = Field(pattern=r"^[A-Z]{2,4}$")  # BJ → numbers like BJ2026-7K3M9Q2W4P
    integrity_record_years: int = Field(default=3, ge=1, le=10)


class PolicyKind(str, Enum):
    """Preferential application policies (申报倾斜政策); each kind has one engine rule."""
    directed = "directed"                      # 基层定向评价, separately listed quota
    long_service = "long_service"              # 30 years in a county / 20 in a township
    township_graduate = "township_graduate"    # township institution graduates → 中级 directly
    township_service = "township_service"      # city staff serving townships
    non_public = "non_public"                  # non-public sector direct application
    green_channel = "green_channel"            # 绿色通道
    pandemic_frontline = "pandemic_frontline"  # 疫情防控一线医务人员


class EducationLevel(str, Enum):
    """学历层次, lowest first; an education entry records one."""
    secondary = "secondary"          # 中专及以下
    college = "college"              # 大学专科（大专）
    bachelor = "bachelor"            # 大学本科
    postgraduate = "postgraduate"    # 研究生


class WorkPlace(str, Enum):
    """Where a work-history entry was served, lowest tier first."""
    township = "township"   # 苏木乡镇、嘎查村
    county = "county"       # 旗县区
    city = "city"           # 市级及以上，本省区内
    outside = "outside"     # 外省（区、市）


# What each policy kind reads from `params`: key → "int", or the vocabulary of its list of codes
# (closed ones are checked here, tenant ones — series, specialties, levels — by the loader).
POLICY_PARAMS: dict[PolicyKind, dict[str, str]] = {
    PolicyKind.directed: {"series": "series", "specialties": "specialties",
                          "employer_tiers": "tiers"},
    PolicyKind.long_service: {"county_years": "int", "township_years": "int"},
    PolicyKind.township_graduate: {"employer_kinds": "employer_kinds"},
    PolicyKind.township_service: {"home_places": "places", "months": "int", "years": "int",
                                  "early_years": "int"},
    PolicyKind.non_public: {"employer_kinds": "employer_kinds", "region_years": "int"},
    PolicyKind.green_channel: {"levels": "levels"},
    PolicyKind.pandemic_frontline: {"series": "series"},
}
POLICY_TRACKS = {PolicyKind.township_graduate, PolicyKind.non_public}
_VOCABULARIES = {"tiers": {t.value for t in Tier}, "places": {p.value for p in WorkPlace},
                 "employer_kinds": {k.value for k in EmployerKind}}


class PolicyTrack(Strict):
    """Graduates of `education` (or higher) with `years` of professional work may apply for
    `level` (a level code)."""
    education: EducationLevel
    years: int = Field(ge=0, le=60)
    level: str


class Progression(Strict):
    """Rank-by-rank application (逐级申报): from `from_rank` up, an applicant holds the title one
    rank below, for `years[level]` years where given (counted to the level's application close)."""
    from_rank: int = Field(ge=2, le=5)
    years: dict[str, int] = {}


class PolicyRule(Named):
    kind: PolicyKind
    # Not counted against the unit's post-structure ratio or post numbers.
    outside_quota: bool = False
    # At most once per person, across years.
    once_per_person: bool = False
    # Last day the policy may be applied under (inclusive), if it expires.
    valid_until: date | None = None
    # Reviewed in a group of its own (单独分组).
    separate_group: bool = False
    # Continuing-education hours are not required.
    waives_continuing_education: bool = False
    # Kind-specific figures (years, months, education levels...), read by the engine rule;
    # POLICY_PARAMS names what each kind reads.
    params: dict[str, int | str | list[str]] = {}
    # Not bound by rank-by-rank progression (逐级申报): applies without the title one rank below.
    direct: bool = False
    # Education and years that open a level (e.g. 本科 + 5 years → 中级); kinds in POLICY_TRACKS.
    tracks: list[PolicyTrack] = []
    # Plans of a separately listed quota (比例单列): the policy is offered only in these plans,
    # and these plans take only applications under it.
    plans: list[str] = []

    @model_validator(mode="after")
    def _params_fit_kind(self):
        wanted = POLICY_PARAMS[self.kind]
        missing = sorted(set(wanted) - set(self.params))
        unknown = sorted(set(self.params) - set(wanted))
        if missing or unknown:
            raise ValueError(f"kind {self.kind.value!r}: params missing {missing}, "
                             f"unknown {unknown}")
        for key, vocab in wanted.items():
            _check_param(key, vocab, self.params[key])
        if bool(self.tracks) != (self.kind in POLICY_TRACKS):
            need = "required" if self.kind in POLICY_TRACKS else "not read"
            raise ValueError(f"kind {self.kind.value!r}: tracks are {need}")
        return self


def _check_param(key: str, vocab: str, value) -> None:
    if vocab == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"params.{key}: expected a whole number ≥ 0")
        return
    if not isinstance(value, list):
        raise ValueError(f"params.{key}: expected a list of codes")
    closed = _VOCABULARIES.get(vocab)
    if closed is not None and not set(value) <= closed:
        raise ValueError(f"params.{key}: unknown value(s) {sorted(set(value) - closed)}")


class ReviewQuota(Named):
    """Places for one year, series and level, shared out by one office (CF-POL-8): no district
    or unit sends more files into the review than the places it was given."""
    year: int = Field(ge=2000, le=2100)
    series: str
    level: str
    total: int = Field(ge=1)
    allocator: str  # the office (an orgs.toml code) that shares the places out


class FreelancerField(Named):
    pass


class FreelancerRule(Strict):
    """Who may apply as a freelancer (BJ-SCOPE-3): recent work in the tenant's area in one of
    these fields, for at least `min_years` before the application window closes."""
    min_years: int = Field(default=1, ge=0, le=10)
    fields: list[FreelancerField] = Field(min_length=1)

def _fraction(value: str) -> Fraction:
    try:
        out = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r}: expected a fraction such as \"1/3\"") from None
    if not 0 <= out <= 1:
        raise ValueError(f"{value!r}: expected a share between 0 and 1")
    return out


class ExpertRules(Strict):
    """Who may review and how a panel is drawn. Shares are written as fractions ("1/3")."""
    # AE-EXP-2: 副高 held this many years (or any 正高) to review; reviewers of 正高 hold 正高
    # this many years.
    associate_years: int = Field(default=3, ge=0, le=20)
    senior_years: int = Field(default=3, ge=0, le=20)
    # AE-EXP-2: normally under the statutory retirement age, by gender; AE-EXP-5: the expert
    # leaves the pool this many years after it.
    retirement_age: dict[Literal["male", "female"], int] = {"male": 60, "female": 60}
    exit_years_after_retirement: int = Field(default=5, ge=0, le=20)
    # AE-EXP-4: terms of this many years, at most this many terms.
    term_years: int = Field(default=3, ge=1, le=10)
    max_terms: int = Field(default=3, ge=1, le=10)
    # CF-EXP-1: an expert who sat on panels this many years running is not drawn (0: no limit).
    years_running: int = Field(default=0, ge=0, le=10)
    # CF-EXP-1: a self-review unit's panel has at least this share of experts from elsewhere.
    outside_share: str = "0"
    # AE-EXP-2: at least this share of a panel is under `young_age` on the review day.
    young_share: str = "0"
    young_age: int = Field(default=45, ge=30, le=70)
    # Attending members must be more than this share of the panel to vote; a file passes with
    # at least `pass_share` of the attending members' votes (BJ-VOTE-1).
    quorum: str = "1/2"
    pass_share: str = "2/3"
    # AE-DUTY-1: the agency trains the experts before review; a member untrained this year may
    # not cast a ballot.
    training_before_ballot: bool = False

    @field_validator("outside_share", "young_share", "quorum", "pass_share")
    @classmethod
    def _share(cls, v):
        _fraction(v)
        return v

    def share(self, name: str) -> Fraction:
        return _fraction(getattr(self, name))


class AgencyRules(Strict):
    """Filing of review service agencies (AE-AGENCY-1) and committees (AE-COMM-1)."""
    # A filing is valid for at most this many years (seed 003 第十二条: not more than 3).
    filing_years: int = Field(default=3, ge=1, le=3)
    # Home pages warn of a committee's or agency's filing expiring within this many days.
    expiry_warning_days: int = Field(default=60, ge=1, le=365)


class PublicHelp(Strict):
    """What every public page tells applicants (BJ-HELP-1): the helpline and, where the tenant
    gives one, the warning that the HR bureau runs and entrusts no training or proxy application
    (考培分离)."""
    helpline: str = Field(default="12333", max_length=40)
    training_warning: str = ""
    training_warning_en: str = ""


class UploadRules(Strict):
    """Scans as they are stored and reviewed. A JPEG or PNG whose longer side exceeds
    `image_max_side` pixels is scaled down to it (the browser does so before sending, the server
    again on receipt); 2000 px keeps an A4 page readable at about 170 dpi in a few hundred KB."""
    image_max_side: int = Field(default=2000, ge=1000, le=8000)


class SelfReviewRules(Strict):
    """Applying to run one's own evaluations (seed 002 第七条(二)): the professional staff's
    least share of all staff."""
    min_professional_share: float = Field(default=0.7, gt=0, le=1)
    # 第六条 (SR-SCOPE-1): the place where a unit's applicants pay their social insurance, as
    # the form names it ("北京", "赤峰").
    insurance_place: str = Field(default="", max_length=20)
    insurance_place_en: str = Field(default="", max_length=40)
    # 第九条(七) (SR-RUN-2): the public notice of a unit's accepted results lasts at least this
    # many working days.
    notice_working_days: int = Field(default=5, ge=5, le=30)
    # 2026 notice 三(三), 2023 notice 三(二) (BJ-SELF-1, BJ23-SELF-1): the bodies (orgs.toml
    # codes) a university or party school may entrust its academic review to; none: no
    # entrustment.
    academic_review_bodies: list[str] = []


class PoliciesFile(Strict):
    agencies: AgencyRules = AgencyRules()
    public: PublicHelp = PublicHelp()
    barred_person_types: list[str] = []
    high_skill_series: list[str] | None = None
    freelancer_series: list[str] | None = None
    # The freelance declaration and its threshold; None: freelancers declare nothing more.
    freelancer: FreelancerRule | None = None
    exam_required: list[ExamRule] = []
    # Series and levels filled by examination alone (以考代评): no review is offered.
    exam_replaces_review: list[ExamRule] = []
    # One series per level per person per year, across every plan of that year.
    one_series_per_level_year: bool = False
    # The employer verifies an applicant's profile before the first application.
    profile_verification: bool = False
    poge: PogeRule | None = None
    # Classified personnel (涉密人员) are reviewed in this mode whatever their plan's mode
    # (CF-MODE-1); None: the application form does not ask about it.
    classified_review_mode: ModeName | None = None
    central_unit_letter: bool = False
    # Which employers need the entrustment letter, from which level rank up (CF-ROUTE-6: central
    # and other-province units in the region, senior titles only).
    letter_employer_kinds: list[EmployerKind] = [EmployerKind.central_unit]
    letter_min_rank: int = Field(default=1, ge=1, le=5)
    notice_working_days: int = Field(default=5, ge=1)
    # After the agency returns a file, does the employer post a second notice? (BJ-WIN-3: no)
    renotice_after_agency_return: bool = False
    # Days the agency gives for corrections by default (the agency may set another date).
    correction_days: int = Field(default=10, ge=1, le=60)
    plan_filing_days_before: int | None = Field(default=None, ge=1)  # CF-PLAN-2; None: not filed
    # The expert pool and the draw (AE-EXP-2, AE-EXP-4, AE-EXP-5, CF-EXP-1).
    experts: ExpertRules = ExpertRules()
    # Results of this level rank and up are published by the city HR bureau (BJ23-PUB-1).
    city_publishes_min_rank: int = Field(default=4, ge=1, le=6)
    # BJ-FEE-1: only checked-and-paid files reach the committee.
    fee_required: bool = False
    # BJ23-PANEL-1: a professional review group (专业评议组) gives a written opinion on every
    # file before the committee votes.
    review_group: bool = False
    # CF-RESULT-1: results reported for acceptance within this many days of the review (0: any).
    result_report_days: int = Field(default=0, ge=0, le=365)
    # CF-RESULT-2: results up to this level rank are filed by the committee office itself;
    # higher ones are accepted by the city HR bureau (0: the bureau accepts every result).
    self_filed_max_rank: int = Field(default=0, ge=0, le=5)
    public_notice_working_days: int = Field(default=5, ge=1)
    # AE-COMPLAIN-1: an accepted complaint or report is answered within this many working days
    # (接诉即办); later, it is flagged overdue to the office and the city HR bureau.
    complaint_answer_working_days: int = Field(default=15, ge=1, le=60)
    # BJ-ACC-1: results are accepted, then publicised; CF-RESULT-1: publicised first, then
    # reported (with `result_documents`) for confirmation or filing. With notice first, the notice
    # must end by the close of the plan's review window (CF-WIN-3).
    result_order: Literal["accept_then_notice", "notice_then_confirm"] = "accept_then_notice"
    result_documents: list[ResultDocument] = []
    # CF-GROUP-1: groups every session forms where it has such files, groups a committee may
    # choose to form, and the employer kinds counted as the non-public sector.
    review_groups: list[ReviewGroup] = []
    optional_review_groups: list[ReviewGroup] = []
    non_public_kinds: list[EmployerKind] = [EmployerKind.non_public, EmployerKind.social_org]
    reminder_days: list[Literal[tuple(range(1, 31))]] = Field(default=[], max_length=5)
    # Professional qualifications and the titles they count as: domestic (附件5) and
    # international (附件6).
    professional_qualification: list[Qualification] = []
    international_qualification: list[Qualification] = []
    # Series the central units' own senior committees are filed for (BJ-CENTRAL-1).
    central_catalogue: list[CatalogueEntry] = []
    certificates: CertificatePolicy | None = None
    # Preferential policies an applicant may apply under (五(三)–(六)).
    policy: list[PolicyRule] = []
    # Ordinary applications proceed rank by rank; None: no such check.
    progression: Progression | None = None
    # CF-POL-9: employers of these kinds declare their posts per level and year, and recommend
    # no more than their vacant posts at a level (empty: no unit is held to its posts).
    post_structure_kinds: list[EmployerKind] = []
    # CF-POL-8: review places capped per year, series and level.
    review_quota: list[ReviewQuota] = []
    # Seed 002: units applying to become self-review units.
    self_review: SelfReviewRules = SelfReviewRules()
    # Issue 16 §1: the resolution photos of paper are scaled down to.
    uploads: UploadRules = UploadRules()


class CommitteeSeed(Named):
    agency: str
    series: list[str]
    levels: list[str]
    specialties: list[str] = []  # empty: every specialty of the series
    district_only: bool = False  # only reachable through district_committee routing
    private_share: float = Field(default=0.0, ge=0, le=1)  # enterprise committees (CF-EXP-1)


class AgencySeed(Strict):
    """An agency's filing as the tenant files record it (AE-AGENCY-1): the seed of the filing
    the city HR bureau then keeps in the portal (a filing made there is never overwritten)."""
    code: str  # an orgs.toml org of kind agency
    phone: str = Field(max_length=40)
    address: str = Field(max_length=200)
    hours: str = Field(max_length=200)
    head: str = Field(default="", max_length=60)
    filed_on: date
    valid_until: date

    @model_validator(mode="after")
    def _valid_three_years(self):
        limit = date(self.filed_on.year + 3, self.filed_on.month, min(self.filed_on.day, 28))
        if not self.filed_on < self.valid_until <= limit:
            raise ValueError("valid_until must be after filed_on and within 3 years of it")
        return self


class DirectoryFile(Strict):
    committee: list[CommitteeSeed]
    agency: list[AgencySeed] = []


class CalendarFile(Strict):
    """Holidays and make-up working days for one year; takes precedence over the library."""
    year: int
    holidays: list[date]
    workdays: list[date] = []
    note: str = ""


class DemoPlan(Strict):
    code: str
    name: str
    name_en: str
    levels: list[str]
    review_mode: ModeName
    mode: list[ModeRule] = []
    # Days from the load day: [opens, closes], inclusive.
    windows: dict[Literal["apply", "employer_review", "tier_report", "agency_check", "review"],
                  tuple[int, int]]


class DemoEmployer(Named):
    uscc: str
    district: str
    employer_kind: EmployerKind
    tier: Tier = Tier.county
    parent: str | None = None
    entrustment_exempt: bool = False
    enterprise_flags: list[EnterpriseFlag] = []
    status: Literal["approved", "pending"] = "approved"


class DemoUser(Strict):
    username: str
    name: str
    role: Literal["applicant", "employer_clerk", "department_clerk", "hr_officer",
                  "association_clerk", "agency_clerk", "tenant_admin"]
    org: str | None = None
    association: str | None = None
    person_type: Literal["professional", "high_skill", "freelancer", "civil_servant"] | None = None
    id_number: str | None = None
    mobile: str | None = None


DEMO_STAGES = ("draft", "submitted", "in_notice", "recommended", "returned", "checked", "paid",
               "in_session", "voted", "in_public_notice", "certified")


class DemoApplication(Strict):
    """A filled-in application in the demo plan, taken through the real transitions to `stage`.
    `submitted` and `in_notice` files are submitted `days_ago` days before the load day; later
    stages start on the first day of the plan's application window. A `recommended` file stops
    at the office `until` (an org code) on its route, or goes on to the agency."""
    applicant: str
    committee: str
    series: str
    specialty: str | None = None
    level: str
    stage: Literal[DEMO_STAGES]
    days_ago: int = Field(default=0, ge=0, le=60)
    until: str | None = None


class DemoExpert(Strict):
    username: str
    name: str
    gender: Literal["male", "female"]
    birth_date: date
    title_level: Literal["associate_senior", "senior"]
    title_year: int
    series: str
    specialty: str | None = None
    employer: str = ""
    employer_org: str | None = None
    private_sector: bool = False
    role: Literal["chair", "vice_chair", "member"] = "member"
    entry_route: Literal["recommended", "invited"] = "recommended"
    term_start: date
    terms: int = Field(default=1, ge=1, le=3)


class DemoFee(Strict):
    """A fee window on the demo plan, set as the committee's agency clerk would (BJ-FEE-1)."""
    committee: str
    agency_clerk: str
    amount_yuan: int = Field(gt=0)
    instructions: str = ""


class DemoPosts(Strict):
    """A demo unit's posts at one level in the load day's year (CF-POL-9)."""
    org: str
    level: str
    posts: int = Field(ge=0)
    holders: int = Field(ge=0)


class DemoAllocation(Strict):
    """Places of a review quota given to a district or a unit (CF-POL-8)."""
    quota: str
    district: str | None = None
    org: str | None = None
    places: int = Field(ge=1)

    @model_validator(mode="after")
    def _one_target(self):
        if (self.district is None) == (self.org is None):
            raise ValueError("an allocation names either a district or an org")
        return self


class DemoFile(Strict):
    password: str
    demo_plan: DemoPlan | None = None
    employer: list[DemoEmployer] = []
    user: list[DemoUser] = []
    demo_application: list[DemoApplication] = []
    expert: list[DemoExpert] = []
    fee: list[DemoFee] = []
    posts: list[DemoPosts] = []
    allocation: list[DemoAllocation] = []


class PledgeFile(Strict):
    """The personal integrity pledge an applicant signs when submitting (BJ-PLEDGE-1,
    CF-PLEDGE-1): its version, its title and its text (one paragraph per item), in Chinese and
    in English. The Chinese text is the one signed; its hash stays with the file."""
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,19}$")
    title: str
    title_en: str
    text: list[str] = Field(min_length=1)
    text_en: list[str] = Field(min_length=1)
    consent: str
    consent_en: str

    @model_validator(mode="after")
    def _same_paragraphs(self):
        if len(self.text) != len(self.text_en):
            raise ValueError("text and text_en must have the same number of paragraphs")
        return self
