"""SAM reader frames and the card's UCS-2 text block."""

from __future__ import annotations

from datetime import date

import pytest

from devices.idcard import sam


def test_reader_commands_are_the_published_bytes() -> None:
    assert bytes.fromhex("aa aa aa 96 69 00 03 20 01 22") == sam.FIND_CARD
    assert bytes.fromhex("aa aa aa 96 69 00 03 20 02 21") == sam.SELECT_CARD
    assert bytes.fromhex("aa aa aa 96 69 00 03 30 01 32") == sam.READ_BASE
    assert bytes.fromhex("aa aa aa 96 69 00 03 11 ff ed") == sam.SAM_STATUS


def test_an_answer_is_framed_with_length_and_xor() -> None:
    assert sam.encode_response(0x9F, b"\x00\x00\x00\x00\x00\x00\x00\x00") == bytes.fromhex(
        "aa aa aa 96 69 00 0c 00 00 9f 00 00 00 00 00 00 00 00 93"
    )
    assert sam.decode_response(sam.encode_response(0x80)) == (sam.SamResponse(0, 0, 0x80), b"")


def test_decoding_skips_noise_and_waits_for_the_rest() -> None:
    wire = sam.encode_response(0x90, b"hello")
    noise = b"\x00\x13\xaa"
    for cut in range(len(noise) + len(wire)):
        buffered = (noise + wire)[:cut]
        response, rest = sam.decode_response(buffered)
        assert response is None, cut
        response, rest = sam.decode_response(rest + (noise + wire)[cut:])
        assert response == sam.SamResponse(0, 0, 0x90, b"hello"), cut
        assert rest == b""


def test_a_bad_checksum_is_an_error() -> None:
    wire = bytearray(sam.encode_response(0x90, b"x"))
    wire[-1] ^= 0x01
    with pytest.raises(sam.SamError, match="checksum"):
        sam.decode_response(bytes(wire))


def test_status_words_have_a_meaning() -> None:
    assert "no card" in sam.SamResponse(0, 0, 0x80).meaning
    assert "0x77" in sam.SamResponse(0, 0, 0x77).meaning


def card_block(**changes: str) -> bytes:
    fields = {
        "name": "张三",
        "sex_code": "1",
        "nation_code": "01",
        "birth": "19900307",
        "address": "北京市东城区景山前街4号",
        "id_number": "110101199003071233",
        "issuer": "北京市公安局东城分局",
        "valid_from": "20150101",
        "valid_until": "20350101",
    }
    fields.update(changes)
    return sam.build_text_block(**fields)


def test_text_block_layout_is_ucs2_little_endian_padded_with_spaces() -> None:
    block = card_block()
    assert len(block) == sam.TEXT_BLOCK_BYTES == 256
    assert block[:6] == bytes.fromhex("205f 094e 2000")  # 张 三 then space padding
    assert block[30:32] == b"1\x00"  # sex
    assert block[32:36] == b"0\x001\x00"  # nation 01
    assert block[122:158] == "110101199003071233".encode("utf-16-le")


def test_text_block_parses_into_a_card() -> None:
    card = sam.parse_text_block(card_block())
    assert card.name == "张三"
    assert card.id_number == "110101199003071233"
    assert card.birth_date == date(1990, 3, 7)
    assert card.sex == "男"
    assert card.nation == "汉"
    assert card.address == "北京市东城区景山前街4号"
    assert card.issuer == "北京市公安局东城分局"
    assert (card.valid_from, card.valid_until) == (date(2015, 1, 1), date(2035, 1, 1))


def test_long_term_cards_and_other_nations() -> None:
    card = sam.parse_text_block(card_block(valid_until="长期", nation_code="56", sex_code="2"))
    assert card.valid_until is None and card.valid_from == date(2015, 1, 1)
    assert card.nation == "基诺"
    assert card.sex == "女"
    assert sam.nation_name("98") == "外国血统中国籍人士"
    assert sam.nation_name("77") is None


def test_a_block_with_a_wrong_number_is_refused() -> None:
    with pytest.raises(sam.SamError, match="check character"):
        sam.parse_text_block(card_block(id_number="110101199003071234"))


def test_a_damaged_block_does_not_crash_the_parser() -> None:
    block = bytearray(card_block())
    block[0:2] = b"\x00\xd8"  # a lone surrogate in the name
    assert sam.parse_text_block(bytes(block)).name.startswith("\ufffd")
    with pytest.raises(sam.SamError, match="256"):
        sam.parse_text_block(bytes(block[:100]))


def test_read_base_data_splits_text_and_photo() -> None:
    data = sam.build_base_data(card_block(), b"\x01" * 1024)
    text, photo = sam.split_base_data(data)
    assert text == card_block() and photo == b"\x01" * 1024
    with pytest.raises(sam.SamError, match="incomplete"):
        sam.split_base_data(data[:-1])
