"""Resident ID-card readers (身份证阅读器) for the kiosk, and ID/phone number helpers."""

from devices.idcard.card import (
    IdCard,
    age_on,
    birth_date_of,
    mask_id,
    mask_phone,
    sex_of,
    validate_id_number,
)
from devices.idcard.reader import (
    FakeIdCardReader,
    IdCardReader,
    SerialIdCardReader,
    build_id_reader,
)

__all__ = [
    "FakeIdCardReader",
    "IdCard",
    "IdCardReader",
    "SerialIdCardReader",
    "age_on",
    "birth_date_of",
    "build_id_reader",
    "mask_id",
    "mask_phone",
    "sex_of",
    "validate_id_number",
]
