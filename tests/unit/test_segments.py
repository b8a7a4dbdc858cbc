import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.sms import segments
from webapp.sms.segments import GSM_7, UCS_2, SegmentCount, count, worst

# Written out from the spec rather than imported, so a typo in the module's tables fails here.
SPEC_BASIC = (
    "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    "¡£¤¥§¿ÄÅÆÇÉÑÖØÜßàäåæèéìñòöøùüΓΔΘΛΞΠΣΦΨΩ"
)
SPEC_EXTENSION = "\f^{}\\[~]|€"
UCS_FORCERS = ["`", "‘", "’", "“", "”", "–", "—", "…", "á", "í", "ó", "ú", "â", "ê", "ô", "ç", "😀"]

EMOJI = "😀"

gsm_text = st.text(alphabet=st.sampled_from(SPEC_BASIC + SPEC_EXTENSION))
mixed_text = st.text(alphabet=st.sampled_from(SPEC_BASIC + SPEC_EXTENSION) | st.characters())


def test_empty_text_is_zero_segments_of_gsm7() -> None:
    assert count("") == SegmentCount(0, 0, 0, GSM_7, (), 160)


@pytest.mark.parametrize("char", SPEC_BASIC)
def test_each_basic_alphabet_character_is_one_septet(char: str) -> None:
    assert (count(char).encoding, count(char).units) == (GSM_7, 1)


@pytest.mark.parametrize("char", SPEC_EXTENSION)
def test_each_extension_character_is_two_septets(char: str) -> None:
    result = count(char)
    assert (result.encoding, result.characters, result.units) == (GSM_7, 1, 2)


def test_backslash_and_form_feed_are_two_septets_each() -> None:
    assert count("a\\b\fc").units == 7


def test_cr_and_lf_are_one_septet_each() -> None:
    result = count("hi\r\nthere\n")
    assert (result.encoding, result.units) == (GSM_7, 10)


@pytest.mark.parametrize(
    ("length", "segments", "per_part"),
    [
        (1, 1, 160),
        (160, 1, 160),
        (161, 2, 153),
        (306, 2, 153),
        (307, 3, 153),
        (459, 3, 153),
        (460, 4, 153),
    ],
)
def test_gsm7_part_boundaries(length: int, segments: int, per_part: int) -> None:
    result = count("a" * length)
    assert (result.units, result.segments, result.per_part) == (length, segments, per_part)


def test_eighty_extension_characters_fill_one_part_and_one_more_septet_splits() -> None:
    assert count("€" * 80).segments == 1
    assert count("€" * 80 + "a").segments == 2


def test_extension_character_at_the_153_boundary_moves_whole_to_the_next_part() -> None:
    # 306 septets would divide into 2 parts, but € cannot straddle septets 153/154:
    # part 1 holds 152 'a', part 2 holds € + 151 'a', and the last 'a' needs part 3.
    result = count("a" * 152 + "€" + "a" * 152)
    assert (result.units, result.segments, result.per_part) == (306, 3, 153)


def test_extension_character_ending_exactly_on_the_boundary_stays_in_its_part() -> None:
    assert count("a" * 151 + "€" + "a" * 153).segments == 2


@pytest.mark.parametrize("char", UCS_FORCERS)
def test_a_character_outside_gsm_switches_the_whole_message_to_ucs2(char: str) -> None:
    result = count("Hello " + char)
    assert (result.encoding, result.forcing) == (UCS_2, (char,))


@pytest.mark.parametrize(
    ("length", "segments", "per_part"),
    [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67)],
)
def test_ucs2_part_boundaries(length: int, segments: int, per_part: int) -> None:
    result = count("á" * length)
    assert (result.units, result.segments, result.per_part) == (length, segments, per_part)


def test_emoji_outside_the_bmp_is_one_character_but_two_units() -> None:
    result = count(EMOJI)
    assert (result.characters, result.units, result.encoding) == (1, 2, UCS_2)
    assert count(EMOJI * 35).segments == 1
    assert count(EMOJI * 36).segments == 2


def test_surrogate_pair_at_the_67_boundary_moves_whole_to_the_next_part() -> None:
    # 134 units would divide into 2 parts, but the pair cannot straddle units 67/68.
    result = count("a" * 66 + EMOJI + "a" * 66)
    assert (result.units, result.segments, result.per_part) == (134, 3, 67)


def test_forcing_lists_distinct_offenders_in_order_of_first_appearance() -> None:
    result = count("Café’s á la carte ’ á 😀 é")
    assert result.forcing == ("’", "á", EMOJI)


def test_gsm7_has_no_forcing_characters() -> None:
    assert count("Café €5 {ok}").forcing == ()


def test_worst_of_nothing_is_none() -> None:
    assert worst([]) is None


def test_worst_prefers_most_segments_then_most_units() -> None:
    short, long_, longer_same_parts = count("hi"), count("a" * 200), count("a" * 300)
    assert worst([short, long_, short]) is long_
    assert worst(iter([long_, longer_same_parts, short])) is longer_same_parts


def test_domain_module_imports_nothing_from_flask() -> None:
    assert "flask" not in inspect.getsource(segments).lower()


@given(mixed_text.filter(bool))
def test_any_non_empty_text_is_at_least_one_segment(text: str) -> None:
    assert count(text).segments >= 1


@given(mixed_text, st.sampled_from(SPEC_BASIC + SPEC_EXTENSION) | st.characters())
def test_appending_a_character_never_reduces_segments(text: str, char: str) -> None:
    assert count(text + char).segments >= count(text).segments


@given(mixed_text)
def test_gsm7_exactly_when_every_character_is_in_the_alphabet(text: str) -> None:
    in_alphabet = all(c in SPEC_BASIC or c in SPEC_EXTENSION for c in text)
    assert (count(text).encoding == GSM_7) == in_alphabet


@given(gsm_text)
def test_gsm7_units_are_at_least_the_characters(text: str) -> None:
    result = count(text)
    assert result.units >= result.characters == len(text)
