"""KID check digits (RULES.md § KID), worked by hand in the comments."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.no import orgnr

from svea_web.rules.kid import (
    KID_CHECK_DIGIT_MESSAGE,
    KID_LENGTH_MESSAGE,
    InvalidKid,
    is_valid_kid,
    kid_algorithm,
    make_kid,
    mod10_check_digit,
    mod11_check_digit,
    pad_kid,
    validate_kid,
)


@pytest.mark.parametrize(
    ("payload", "check"),
    [
        # 1234, weights 2,1,2,1 from the right: 4*2=8, 3*1=3, 2*2=4, 1*1=1 -> 16; (10-6) mod 10 = 4
        ("1234", "4"),
        # 7992739871 (the Luhn textbook case): products from the right 2,7,16->7,9,6,7,4,9,18->9,7
        # sum 67; (10-7) mod 10 = 3
        ("7992739871", "3"),
        # all zeros: sum 0; (10-0) mod 10 = 0
        ("0000", "0"),
        # 5: 5*2=10 -> digits 1+0 = 1; (10-1) = 9
        ("5", "9"),
        # 18: 8*2=16 -> 7, 1*1=1 -> 8; 10-8 = 2
        ("18", "2"),
    ],
)
def test_mod10_check_digit_matches_hand_worked_luhn(payload, check):
    assert mod10_check_digit(payload) == check


@pytest.mark.parametrize(
    ("payload", "check"),
    [
        # 1234, weights 2,3,4,5 from the right: 8+9+8+5 = 30; 30 mod 11 = 8; 11-8 = 3
        ("1234", "3"),
        # 123456, weights 2..7: 12+15+16+15+12+7 = 77; 77 mod 11 = 0; 11-0 = 11 -> 0
        ("123456", "0"),
        # 1009: 9*2=18, 0, 0, 1*5=5 -> 23; 23 mod 11 = 1; 11-1 = 10 -> '-'
        ("1009", "-"),
        # 6: 6*2 = 12; 12 mod 11 = 1; 10 -> '-'
        ("6", "-"),
        # 12345678, weights 2,3,4,5,6,7 then again 2,3: 16+21+24+25+24+21+4+3 = 138;
        # 138 mod 11 = 6; 11-6 = 5 (the weights restart after 7)
        ("12345678", "5"),
    ],
)
def test_mod11_check_digit_matches_hand_worked_sum(payload, check):
    assert mod11_check_digit(payload) == check


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_mod11_agrees_with_organisation_number_for_eight_digit_payloads(payload):
    # The orgnr weights 3,2,7,6,5,4,3,2 from the left are 2..7,2,3 from the right: an independent oracle.
    check = mod11_check_digit(payload)
    if check != "-":
        assert orgnr.checksum(payload + check) == 0


@pytest.mark.parametrize("payload", ["", "12a4", "12 34", "-1"])
def test_check_digit_refuses_payload_that_is_not_digits(payload):
    with pytest.raises(ValueError):
        mod10_check_digit(payload)
    with pytest.raises(ValueError):
        mod11_check_digit(payload)


@pytest.mark.parametrize(
    ("kid", "valid", "algorithm"),
    [
        ("12344", True, "MOD10"),
        ("12343", True, "MOD11"),
        ("1009-", True, "MOD11"),
        ("1234560", True, "MOD11"),
        # leading zeros add 0 to both sums, so the check digit stays valid
        ("00012344", True, "MOD10"),
        ("00012343", True, "MOD11"),
        # "00": payload 0 gives 0 by both methods; MOD10 is reported first
        ("00", True, "MOD10"),
        ("12345", False, None),
        # '-' is only a MOD11 check digit: MOD11 of 1234 is 3, not 10
        ("1234-", False, None),
        ("0", False, None),  # shorter than 2
        ("0" * 26, False, None),  # longer than 25
        ("0" * 25, True, "MOD10"),
        ("12-44", False, None),  # '-' only as the last character
        ("1234 4", False, None),  # spaces are stripped by validate_kid, not here
        ("", False, None),
        ("１２３４４", False, None),  # full-width digits are not KID digits
    ],
)
def test_kid_validity_and_algorithm(kid, valid, algorithm):
    assert is_valid_kid(kid) is valid
    assert kid_algorithm(kid) == algorithm


@pytest.mark.parametrize(
    ("payload", "algorithm", "kid"),
    [
        ("1234", "MOD10", "12344"),
        ("1234", "MOD11", "12343"),
        ("1009", "MOD11", "1009-"),
        ("0001234", "MOD10", "00012344"),
    ],
)
def test_make_kid_appends_check_digit_and_keeps_leading_zeros(payload, algorithm, kid):
    assert make_kid(payload, algorithm) == kid


def test_make_kid_defaults_to_mod10():
    assert make_kid("1234") == "12344"


@pytest.mark.parametrize(("payload", "algorithm"), [("", "MOD10"), ("1" * 25, "MOD10"), ("12", "MOD12")])
def test_make_kid_refuses_impossible_kid(payload, algorithm):
    with pytest.raises(ValueError):
        make_kid(payload, algorithm)


@pytest.mark.parametrize(
    ("kid", "length", "padded"),
    [
        ("12344", 8, "00012344"),
        ("12344", 5, "12344"),
        ("00012344", 10, "0000012344"),
        ("1009-", 7, "001009-"),
    ],
)
def test_pad_kid_left_pads_with_zeros_to_kid_length(kid, length, padded):
    assert pad_kid(kid, length) == padded
    assert is_valid_kid(padded)


@pytest.mark.parametrize(("kid", "length"), [("123456", 5), ("12344", 26), ("12344", 1)])
def test_pad_kid_refuses_kid_longer_than_length_or_impossible_length(kid, length):
    with pytest.raises(ValueError):
        pad_kid(kid, length)


@given(st.text(alphabet="0123456789", min_size=1, max_size=12), st.sampled_from(["MOD10", "MOD11"]))
def test_padding_never_breaks_a_kid(payload, algorithm):
    kid = make_kid(payload, algorithm)
    assert kid_algorithm(pad_kid(kid, 25)) is not None
    assert pad_kid(kid, 25).endswith(kid)


@pytest.mark.parametrize(
    ("raw", "kid"),
    [
        (" 12344 ", "12344"),
        ("1 2 3 4 4", "12344"),
        ("0001\u00a02344", "00012344"),  # non-breaking space as printed on a giro
        ("1009-", "1009-"),
    ],
)
def test_validate_kid_strips_spaces_and_keeps_leading_zeros(raw, kid):
    assert validate_kid(raw) == kid


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1", KID_LENGTH_MESSAGE),
        ("", KID_LENGTH_MESSAGE),
        ("1" * 26, KID_LENGTH_MESSAGE),
        ("12a44", KID_LENGTH_MESSAGE),
        ("12-44", KID_LENGTH_MESSAGE),
        ("12345", KID_CHECK_DIGIT_MESSAGE),
        ("1234-", KID_CHECK_DIGIT_MESSAGE),
    ],
)
def test_validate_kid_says_why_in_norwegian(raw, message):
    with pytest.raises(InvalidKid) as caught:
        validate_kid(raw)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_kid_messages_are_the_documented_norwegian_texts():
    assert KID_LENGTH_MESSAGE == "KID må være 2–25 siffer"
    assert KID_CHECK_DIGIT_MESSAGE == "KID har feil kontrollsiffer (MOD10/MOD11)"
