"""Identity documents (mainland ID card, residence permit for Hong Kong, Macao and Taiwan
residents, the travel permits, the foreigner's permanent-residence ID, passport plus work permit),
unified social credit codes (GB 32100) and mobiles.

Check digits come from python-stdnum (GB 11643 ISO 7064 MOD 11-2 and GB 32100); document numbers
and mobiles are kept encrypted under the personal-data key ring (crypto.py), with a keyed hash
for uniqueness and lookups and a masked form for display. The document type is stored beside
the number; `document_label` names it on every page that shows the number.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from . import crypto

MOBILE = re.compile(r"^1\d{10}$")  # mainland mobile numbers: 11 digits from 1


def clean_id_number(value: str) -> str | None:
    """The compact 18-character ID number, or None when it fails GB 11643."""
    try:
        return ric.validate(value.strip().upper())
    except ValidationError:
        return None


def _compact(value: str | None) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def _birth_date(digits: str) -> date | None:
    """YYYYMMDD as a date from 1900 on, or None."""
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
    return born if born.year >= 1900 else None


def _mod11_2(number: str) -> bool:
    """The last character is the ISO 7064 MOD 11-2 check of the 17 digits before it (the
    algorithm of GB 11643, used by the residence permit and the 2023 permanent-residence ID)."""
    return (len(number) == 18 and number[:17].isdigit()
            and number[-1] == ric.calc_check_digit(number))


# Where the residence permit for Hong Kong, Macao and Taiwan residents takes its address code.
HMT_REGIONS = {"810000": "hk", "820000": "macao", "830000": "taiwan"}
# Province-level codes of GB/T 2260 (mainland): where a 2023 permanent-residence ID was accepted.
MAINLAND_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
                      "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
                      "53", "54", "61", "62", "63", "64", "65"}


def clean_residence_permit(value: str) -> str | None:
    """港澳台居民居住证 (issued since 1 September 2018): 18 characters laid out as the mainland
    ID number (GB 11643): a six-digit address code that is 810000 (Hong Kong), 820000 (Macao)
    or 830000 (Taiwan), the birth date YYYYMMDD, a three-digit sequence number (odd for men)
    and the ISO 7064 MOD 11-2 check character (0-9 or X). None when any part fails."""
    number = _compact(value)
    if len(number) != 18 or number[:6] not in HMT_REGIONS or not _mod11_2(number):
        return None
    return number if _birth_date(number[6:14]) else None


# 港澳居民来往内地通行证: H (Hong Kong) or M (Macao) and 8 digits on the card issued since
# 2013; the older booklet numbers carry two more digits (the issue count).
HK_MACAO_PERMIT = re.compile(r"^[HM](\d{8}|\d{10})$")
# 台湾居民来往大陆通行证: 8 digits on the card issued since 2015 (kept for life).
TAIWAN_PERMIT = re.compile(r"^\d{8}$")
# 外国人永久居留身份证 before December 2023: three letters (the nationality, ISO 3166-1
# alpha-3) and 12 digits; that form has no published check character.
FOREIGN_PR_OLD = re.compile(r"^[A-Z]{3}\d{12}$")
# Passport numbers differ by state: ICAO 9303 gives 9 characters in the machine-readable zone,
# some states issue longer ones; letters and digits, at least one digit.
PASSPORT = re.compile(r"^(?=.*\d)[A-Z0-9]{5,17}$")
# 外国人工作许可证 (the foreigner's work permit, since 2017): an 18-digit number, kept for life.
WORK_PERMIT = re.compile(r"^\d{18}$")


def clean_hk_macao_permit(value: str) -> str | None:
    """港澳居民来往内地通行证 ("home-return permit"): H for Hong Kong or M for Macao followed by
    8 digits (the card form since 2013) or 10 digits (older forms, the last two counting the
    issues). The number carries no check character. None when it does not fit."""
    number = _compact(value)
    return number if HK_MACAO_PERMIT.match(number) else None


def clean_taiwan_permit(value: str) -> str | None:
    """台湾居民来往大陆通行证: 8 digits (the card form since 2015); no check character."""
    number = _compact(value)
    return number if TAIWAN_PERMIT.match(number) else None


def clean_foreign_pr(value: str) -> str | None:
    """外国人永久居留身份证. The form issued since 1 December 2023 has 18 characters: 9 (a
    foreigner, never the first digit of a citizen's number), the two-digit province code of the
    accepting office, the three-digit ISO 3166-1 numeric nationality code, the birth date
    YYYYMMDD, a three-digit sequence number and the MOD 11-2 check character of GB 11643. The
    earlier form (still valid) has 15: the three-letter nationality code and 12 digits, without
    a published check character, so only its shape is checked. None when it does not fit."""
    number = _compact(value)
    if len(number) == 15:
        return number if FOREIGN_PR_OLD.match(number) else None
    if (len(number) != 18 or number[0] != "9" or number[1:3] not in MAINLAND_PROVINCES
            or number[3:6] == "000" or not _mod11_2(number)):
        return None
    return number if _birth_date(number[6:14]) else None


def clean_passport(value: str) -> str | None:
    """A passport number: 5 to 17 letters and digits with at least one digit (spaces dropped)."""
    number = _compact(value)
    return number if PASSPORT.match(number) else None


def clean_work_permit(value: str | None) -> str | None:
    """外国人工作许可证号: 18 digits; the number has no published check digit."""
    number = _compact(value)
    return number if WORK_PERMIT.match(number) else None


# The identity documents, in the order the registration form offers them; a tenant lists the
# ones it accepts (tenant.toml `id_documents`).
DOCUMENTS = {
    "resident_id": clean_id_number,
    "hmt_residence": clean_residence_permit,
    "hk_macao_permit": clean_hk_macao_permit,
    "taiwan_permit": clean_taiwan_permit,
    "foreign_pr": clean_foreign_pr,
    "passport": clean_passport,
}
DOCUMENT_LABELS = {
    "resident_id": _l("居民身份证"),
    "hmt_residence": _l("港澳台居民居住证"),
    "hk_macao_permit": _l("港澳居民来往内地通行证"),
    "taiwan_permit": _l("台湾居民来往大陆通行证"),
    "foreign_pr": _l("外国人永久居留身份证"),
    "passport": _l("护照（外籍人员，另填外国人工作许可证号）"),
}
# What a wrong number is told, per document: the rule it has to follow.
DOCUMENT_PROBLEMS = {
    "resident_id": _l("身份证号码无效（校验位不符，请核对）。"),
    "hmt_residence": _l("港澳台居民居住证号码无效：应为18位，以810000（香港）、820000（澳门）或"
                        "830000（台湾）开头，含出生日期，末位校验位须相符。"),
    "hk_macao_permit": _l("港澳居民来往内地通行证号码无效：应为H或M加8位数字（旧版为10位数字）。"),
    "taiwan_permit": _l("台湾居民来往大陆通行证号码无效：应为8位数字。"),
    "foreign_pr": _l("外国人永久居留身份证号码无效：新版为以9开头的18位（末位校验位须相符），"
                     "旧版为3位字母加12位数字。"),
    "passport": _l("护照号码无效：应为5至17位字母或数字。"),
}
WORK_PERMIT_PROBLEM = _l("外国人工作许可证号无效：应为18位数字。")
# Documents whose number carries the holder's birth date (YYYYMMDD at characters 7-14).
CARRIES_BIRTH_DATE = {"resident_id", "hmt_residence"}


def clean_document(doc_type: str, value: str | None) -> str | None:
    """The compact number when it follows its document's rule, else None (unknown type: None)."""
    check = DOCUMENTS.get(doc_type)
    return check(value or "") if check else None


def birth_date_of(doc_type: str, number: str) -> date | None:
    """The birth date a document number carries, or None where it carries none (then the
    applicant states it in the basic-information section)."""
    if doc_type in CARRIES_BIRTH_DATE or (doc_type == "foreign_pr" and len(number) == 18):
        return _birth_date(number[6:14])
    return None


def document_label(user_or_type) -> str:
    """The name of the identity document of an account (or of a document type code), in the
    reader's language; the mainland ID card when none is recorded."""
    code = user_or_type if isinstance(user_or_type, str) or user_or_type is None \
        else getattr(user_or_type, "id_doc_type", None)
    return str(DOCUMENT_LABELS.get(code or "resident_id", code))


def clean_uscc(value: str) -> str | None:
    """The 18-character credit code, or None when it fails GB 32100."""
    try:
        return uscc.validate(value.strip().upper())
    except ValidationError:
        return None


def clean_mobile(value: str | None) -> str | None:
    """The 11-digit mobile number without spaces or dashes, or None."""
    digits = re.sub(r"[\s-]", "", value or "")
    return digits if MOBILE.match(digits) else None


def encrypt_id(number: str) -> str:
    return crypto.encrypt(number)


def decrypt_id(token: str) -> str:
    return crypto.decrypt(token)


def id_hash(number: str) -> str:
    return crypto.keyed_hash("id_number", number)


def work_permit_hash(number: str) -> str:
    return crypto.keyed_hash("work_permit", number)


def mobile_hash(number: str) -> str:
    return crypto.keyed_hash("mobile", number)


def mask_id(number: str) -> str:
    """Show the first three and last two characters only: 110*************2X. Numbers shorter
    than 15 (travel permits, passports) keep only the first and the last two: H*****78."""
    if len(number) < 15:
        return number[:1] + "*" * max(len(number) - 3, 2) + number[-2:]
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def mask_name(name: str) -> str:
    """Keep the first and last characters of a name: 张*明, 欧阳**华, 李*."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_mobile(number: str | None) -> str:
    """138****1234; anything else keeps at most its last two characters."""
    if not number:
        return ""
    if len(number) == 11:
        return f"{number[:3]}****{number[-4:]}"
    return "*" * max(len(number) - 2, 2) + number[-2:] if len(number) > 4 else "*" * len(number)
