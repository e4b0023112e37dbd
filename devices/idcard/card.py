"""A resident ID card (居民身份证) and the checks and masks the hall applies to its number.

Pure: no I/O. ID numbers follow GB 11643-1999: 6-digit area code, 8-digit birth date,
3-digit sequence (odd = male), ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


@dataclass(frozen=True, slots=True)
class IdCard:
    """What the kiosk reads from a card; the repr never shows the full number."""

    name: str = field(repr=False)
    id_number: str = field(repr=False)
    birth_date: date
    sex: str  # 男 | 女 | 未知
    address: str | None = field(default=None, repr=False)
    nation: str | None = None  # 民族, e.g. 汉
    issuer: str | None = field(default=None, repr=False)  # 签发机关
    valid_from: date | None = None
    valid_until: date | None = None  # None with valid_from set = 长期 (no expiry)

    @property
    def masked_id(self) -> str:
        """Return the number as it may be shown: ``110101********1234``."""
        return mask_id(self.id_number)

    def __repr__(self) -> str:
        return (
            f"IdCard(id={self.masked_id}, birth_date={self.birth_date.isoformat()}, "
            f"sex={self.sex!r}, nation={self.nation!r})"
        )


def check_character(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(
            "校验位须由前 17 位数字算出。The check character needs the first 17 digits."
        )
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_id_number(value: str) -> str:
    """Return the ID number normalised (trimmed, upper-case X), or raise ValueError."""
    number = value.strip().upper()
    if not _ID_SHAPE.fullmatch(number):
        raise ValueError(
            "身份证号码须为 18 位：17 位数字加 1 位数字或 X。"
            "An ID number has 18 characters: 17 digits and a digit or X."
        )
    try:
        birth = _birth_date(number)
    except ValueError:
        raise ValueError(
            f"身份证号码中的出生日期 {number[6:14]} 不存在。"
            f"The birth date {number[6:14]} in the ID number is not a real date."
        ) from None
    if birth.year < 1800:
        raise ValueError(
            f"身份证号码中的出生年份 {birth.year} 不合理。"
            f"The birth year {birth.year} in the ID number is not plausible."
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ValueError(
            "身份证号码校验位不对，请核对是否输错。"
            "The ID number's check character is wrong: please check it for a typing error."
        )
    return number


def _birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def birth_date_of(id_number: str) -> date:
    """Return the birth date written in a valid ID number."""
    return _birth_date(validate_id_number(id_number))


def sex_of(id_number: str) -> str:
    """Return 男 or 女 from the sequence digit (odd = male) of a valid ID number."""
    return "男" if int(validate_id_number(id_number)[16]) % 2 else "女"


def age_on(id_number: str, on: date) -> int:
    """Return the age in whole years on day ``on``; a 29 February birthday counts on 1 March."""
    birth = birth_date_of(id_number)
    if on < birth:
        raise ValueError(
            f"{on.isoformat()} 早于出生日期。{on.isoformat()} is before the birth date."
        )
    before_birthday = (on.month, on.day) < (birth.month, birth.day)
    return on.year - birth.year - before_birthday


def mask_id(value: str) -> str:
    """Return an ID number with all but the first 6 and last 4 characters hidden."""
    number = re.sub(r"\s", "", value).upper()
    if len(number) <= 10:
        return _mask_short(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(value: str) -> str:
    """Return a phone number as ``138****5678``: first 3 and last 4 digits kept."""
    phone = re.sub(r"[\s\-()]", "", value)
    if phone.startswith("+86"):
        phone = phone[3:]
    if len(phone) <= 7:
        return _mask_short(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def _mask_short(value: str) -> str:
    # Too short to keep a head and a tail apart: show at most the last 2 characters.
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 2) + value[-2:]
