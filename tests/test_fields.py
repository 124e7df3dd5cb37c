"""The shared field types: the stated rules, and random input that either reads as a valid value
or is refused with a plain message, never anything else (no database in these tests)."""

from __future__ import annotations

import io
import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from app import fields
from app.fields import (
    DAY,
    EARLIEST,
    LATEST,
    MAX_MAGNITUDE,
    PEOPLE,
    REPORTED,
    TARGET,
    Count,
    Link,
    Number,
    Text,
    clean_text,
    email_address,
)
from app.plan.models import Indicator
from app.progress.models import IndicatorValue
from app.validation import InputError, number_as_typed

FEW = settings(max_examples=150, deadline=None)
NARRATIVE = Text.of(IndicatorValue.narrative, limit=4000)
TITLE = Text.of(Indicator.title, multiline=False)
EVIDENCE = Link.of(IndicatorValue.evidence_url)


def _refusal(parse, raw) -> str:
    with pytest.raises(InputError) as refused:
        parse(raw)
    return str(refused.value)


# --- The stated rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [("12", 12), (" 7 ", 7), ("1,250", 1250), ("12,345,678.5", 12345678.5), ("0.125", 0.125)],
)
def test_numbers_read_as_written(typed: str, read: float) -> None:
    assert REPORTED(typed) == read


def test_a_point_followed_by_three_digits_is_ambiguous_and_says_what_to_write() -> None:
    message = _refusal(REPORTED, "1.250")
    assert "1250" in message and "1.25" in message


# Arabic-Indic 3, full-width 3, a superscript 2
@pytest.mark.parametrize("typed", ["\u0663", "\uff13", "\u00b2", "1\u0663"])
def test_only_ascii_digits_are_numbers(typed: str) -> None:
    assert "digits 0-9" in _refusal(REPORTED, typed)


@pytest.mark.parametrize("typed", ["1,25", "1,2345", "12,5"])
def test_a_comma_groups_exactly_three_digits(typed: str) -> None:
    assert "groups three digits" in _refusal(REPORTED, typed)


def test_a_number_of_hundreds_of_digits_is_refused_not_infinite() -> None:
    assert "too large" in _refusal(TARGET, "9" * 400)
    assert "finite" in _refusal(TARGET, math.inf)
    assert "too large" in _refusal(TARGET, 10**400)


def test_counts_are_whole_and_targets_not_negative() -> None:
    assert "whole number (12, not 12.5)" in _refusal(PEOPLE, "12.5")
    assert "whole number" in _refusal(Count(), "12.0")
    assert "negative" in _refusal(TARGET, "-5")
    assert Count()("12") == 12
    assert "whole" in _refusal(Count(), "2.5")


def test_dates_are_iso_and_within_the_window() -> None:
    assert DAY("2025-06-01") == date(2025, 6, 1)
    for typed in ("0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"):
        assert "between 1 Jan 2000 and 31 Dec 2100" in _refusal(DAY, typed)
    for typed in ("2025-1-1", "20250601", "2025-02-30", "\uff11\uff12"):
        assert "year-month-day" in _refusal(DAY, typed)


def test_text_keeps_tab_and_newline_turns_word_breaks_into_newlines_and_refuses_controls() -> None:
    assert NARRATIVE("a\tb\r\nc\rd\x0be") == "a\tb\nc\nd\ne"
    assert "U+0001" in _refusal(NARRATIVE, "bell\x01")
    assert "one line" in _refusal(TITLE, "two\nlines")
    assert "300 characters or fewer (this one has 301)" in _refusal(TITLE, "x" * 301)


def test_links_need_a_scheme_a_host_and_their_columns_length() -> None:
    assert EVIDENCE("https://example.org/a") == "https://example.org/a"
    assert EVIDENCE.max_length == 500
    for typed in ("http://", "ftp://example.org", "example.org", "https://a b.org"):
        assert "https://" in _refusal(EVIDENCE, typed)
    assert "500 characters" in _refusal(EVIDENCE, "https://example.org/" + "a" * 481)


def test_one_email_address_in_lower_case() -> None:
    assert email_address(" Name@Example.ORG ") == "name@example.org"
    for typed in ("a@b.example,c@evil.example", "a@b.example c@evil.example", "no-at-sign", ""):
        assert "e-mail address" in _refusal(email_address, typed)


def test_clean_text_drops_what_no_workbook_can_hold() -> None:
    assert clean_text("a\x0bb\x01c\r\nd\x00") == "a\nbc\nd"


# --- Properties ----------------------------------------------------------------------------------

_NUMBER_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789,.- \u0663\uff13\u00b2", max_size=30),
    st.from_regex(r"-?[0-9]{1,400}(\.[0-9]{1,20})?", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_NUMBER_RAW = st.one_of(
    _NUMBER_TEXT,
    st.floats(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.none(),
    st.booleans(),
    st.dates(),
)


@FEW
@given(raw=_NUMBER_RAW, whole=st.booleans(), minimum=st.sampled_from([0, None, 1]))
def test_a_number_is_valid_or_refused_with_a_message(raw, whole, minimum) -> None:
    parse = Number(minimum=minimum, whole=whole, maximum=1e9)
    try:
        value = parse(raw)
    except InputError as refused:
        assert str(refused).strip()
        return
    if value is None:
        return
    assert math.isfinite(value) and abs(value) < MAX_MAGNITUDE and value <= 1e9
    assert minimum is None or value >= minimum
    assert not whole or value == int(value)


@FEW
@given(raw=st.one_of(st.text(max_size=20), st.dates(), st.datetimes(), st.none(), st.integers()))
def test_a_date_is_valid_or_refused_with_a_message(raw) -> None:
    try:
        day = DAY(raw)
    except InputError as refused:
        assert str(refused).strip()
        return
    assert day is None or EARLIEST <= day <= LATEST


# Characters at the edges of what a workbook's XML or a database can hold.
_AWKWARD_TEXT = st.text(
    alphabet=st.sampled_from("ab \t\n\r\x0b\x0c\x01\x1f\x7f\x85\x9f\ufffe\uffff\u2028é𝄞"),
    max_size=40,
)


def _fits_a_workbook(text: str) -> bool:
    """Written into an .xlsx cell and read back unchanged: the real test of "can hold"."""
    workbook = Workbook()
    workbook.active["A1"] = text
    buffer = io.BytesIO()
    workbook.save(buffer)
    return load_workbook(io.BytesIO(buffer.getvalue())).active["A1"].value == (text or None)


@FEW
@given(raw=st.one_of(st.text(max_size=400), _AWKWARD_TEXT, st.none(), st.floats(), st.integers()))
def test_a_text_is_valid_or_refused_with_a_message(raw) -> None:
    for parse in (Text(300), TITLE):
        try:
            text = parse(raw)
        except InputError as refused:
            assert str(refused).strip()
            continue
        assert len(text) <= parse.max_length
        assert not fields.has_refused_characters(text) and "\r" not in text
        assert parse.multiline or "\n" not in text
        assert _fits_a_workbook(text)


@FEW
@given(
    raw=st.one_of(
        st.text(max_size=60),
        st.from_regex(r"https?://[^\s]{0,40}", fullmatch=True),
        st.builds(lambda n: "https://example.org/" + "a" * n, st.integers(0, 600)),
    )
)
def test_a_link_is_valid_or_refused_with_a_message(raw) -> None:
    try:
        link = EVIDENCE(raw)
    except InputError as refused:
        assert str(refused).strip()
        return
    assert link == "" or (link.startswith(("http://", "https://")) and len(link) <= 500)
    assert not fields.has_refused_characters(link)


@FEW
@given(raw=st.one_of(st.text(max_size=60), st.emails(), st.none()))
def test_an_email_address_is_valid_or_refused_with_a_message(raw) -> None:
    try:
        address = email_address(raw)
    except InputError as refused:
        assert str(refused).strip()
        return
    assert address == address.lower() and address.count("@") == 1
    assert "," not in address and len(address) <= 254


@FEW
@given(raw=st.one_of(st.text(max_size=30), st.none(), st.integers().map(str)))
def test_a_version_is_valid_or_refused_with_a_message(raw) -> None:
    try:
        number = fields.version(raw)
    except InputError as refused:
        assert str(refused).strip()
        return
    assert 0 <= number < 2**63


@FEW
@given(raw=st.one_of(st.text(max_size=200), _AWKWARD_TEXT))
def test_clean_text_always_leaves_text_a_workbook_can_hold(raw) -> None:
    cleaned = clean_text(raw)
    assert not fields.has_refused_characters(cleaned) and "\r" not in cleaned
    assert _fits_a_workbook(cleaned)


@FEW
@given(
    value=st.one_of(
        st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, exclude_max=True),
        st.sampled_from([12.375, 3.141, 123.456, 0.125, 1250.0, 1e-7]),
    )
)
def test_a_number_written_back_as_typed_reads_as_the_same_number(value) -> None:
    """A form shows a stored number with number_as_typed; saved again unchanged it must be
    accepted and stored exactly as it was (12.375 was shown, then refused as ambiguous)."""
    if abs(value) >= fields.MAX_MAGNITUDE:
        return
    assert Number(minimum=None)(number_as_typed(value)) == value
