"""Reading the expert's forms: scores per criterion, attendance and the ballot sheet."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHOICE_LABELS = {"yes": _l("同意"), "no": _l("不同意"), "abstain": _l("弃权")}
ROLE_LABELS = {"chair": _l("主任委员"), "vice_chair": _l("副主任委员"), "member": _l("委员")}


def score_values(form, standard: list[dict]) -> dict[str, str]:
    """{criterion code: the number typed}, for every criterion of the committee's standard."""
    return {c["code"]: form.get(f"score-{c['code']}", "") for c in standard}


def present_ids(form) -> list[int]:
    """The panel members the presiding member ticked as present."""
    return form.getlist("present", type=int)


def ballot_choices(form, items) -> dict[int, str]:
    """{item id: yes | no | abstain} for each file on the sheet that was answered; the service
    refuses a sheet that leaves one out."""
    return {i.id: form[f"item-{i.id}"] for i in items if form.get(f"item-{i.id}")}
