"""ID numbers: GB 11643 check characters, ages for the green channel, masks for screens."""

from __future__ import annotations

from datetime import date

import pytest

from devices.idcard import IdCard, age_on, mask_id, mask_phone, sex_of, validate_id_number
from devices.idcard.card import birth_date_of, check_character

# 11010519491231002X is the worked example of GB 11643-1999.
VALID = ["11010519491231002X", "440524188001010014", "110101199003071233", "110105200002290013"]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_pass_unchanged(number: str) -> None:
    assert validate_id_number(number) == number


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert validate_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_check_character_of_the_standard_example_is_x() -> None:
    assert check_character("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("110105194912310021", "check character"),  # one typo in the last place
        ("110105194912310Z2X", "18 characters"),
        ("11010519491231002", "18 characters"),
        ("1101051949123100200", "18 characters"),
        ("110105194902300026", "not a real date"),  # 30 February
        ("110101199002290012", "not a real date"),  # 1990 was not a leap year
        ("110101170001010019", "not plausible"),
        ("１１０１０５１９４９１２３１００２Ｘ", "18 characters"),  # full-width digits
    ],
)
def test_invalid_numbers_are_refused_with_a_sentence(number: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        validate_id_number(number)
    assert "身份证号码" in str(caught.value)


def test_swapped_digits_are_caught_by_the_check_character() -> None:
    with pytest.raises(ValueError, match="check character"):
        validate_id_number("110101199003071323")


def test_birth_date_and_sex_come_from_the_number() -> None:
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert sex_of("11010519491231002X") == "女"  # sequence 002: even
    assert sex_of("440524188001010014") == "男"  # sequence 001: odd


def test_age_turns_on_the_birthday_not_the_day_before() -> None:
    number = "110101199003071233"  # born 1990-03-07
    assert age_on(number, date(2025, 3, 6)) == 34
    assert age_on(number, date(2025, 3, 7)) == 35
    assert age_on(number, date(1990, 3, 7)) == 0


def test_a_leap_day_birthday_counts_on_the_first_of_march() -> None:
    number = "110105200002290013"  # born 2000-02-29
    assert age_on(number, date(2021, 2, 28)) == 20
    assert age_on(number, date(2021, 3, 1)) == 21
    assert age_on(number, date(2024, 2, 29)) == 24


def test_age_before_birth_is_refused() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_on("110101199003071233", date(1990, 3, 6))


def test_masks_keep_only_what_a_screen_may_show() -> None:
    assert mask_id("110101199003071233") == "110101********1233"
    assert mask_id("11010519491231002x") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("010-6512345") == "010***2345"


@pytest.mark.parametrize("short", ["", "12", "1234", "123456"])
def test_masks_never_reveal_a_short_value(short: str) -> None:
    for masked in (mask_id(short), mask_phone(short)):
        assert len(masked) == len(short)
        assert masked[:-2].strip("*") == ""


def test_a_card_never_prints_its_full_number_or_name() -> None:
    card = IdCard(
        name="张三",
        id_number="110101199003071233",
        birth_date=date(1990, 3, 7),
        sex="男",
        address="北京市东城区某街道1号",
    )
    text = repr(card)
    assert "110101199003071233" not in text
    assert "张三" not in text and "北京" not in text
    assert "110101********1233" in text
    assert card.masked_id == "110101********1233"
