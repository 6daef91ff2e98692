"""The quick checks of ``clean_batch`` answer what the regular expressions they skip answer.

A batch is searched for control characters with one look at its bytes; only a batch holding
a control byte runs the regular expression (``clean._control``). Generated texts of any
characters (control characters, tab, CR, LF, DEL, multi-byte characters whose bytes look
like nothing of the kind), nulls and slices must give the regex's mask, nulls as False
(as the error records read them). The same holds for the other skipped kernels: plain
decimals, trimming and null words, and the time zone offset check (its regex runs only on a
batch where some cell ends in a digit).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.ingest.clean import _CONTROL, _OFFSET, _bad_offset, _control, _normalise_text, _plain_decimals, _some_edge
from custlens.ingest.mapping import ImportMapping

CHARACTERS = st.one_of(
    st.sampled_from(
        ["a", "1", " ", "\t", "\r", "\n", "\x00", "\x07", "\x0b", "\x1f", "\x7f", "é", "中", "\u00a0", "😀"]
    ),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)
CELLS = st.one_of(st.none(), st.text(CHARACTERS, max_size=8))


def _regex(text: pa.Array) -> list[bool]:
    return pc.fill_null(pc.match_substring_regex(text, _CONTROL), False).to_pylist()


@settings(max_examples=300, deadline=None)
@given(st.lists(CELLS, max_size=30), st.integers(0, 5), st.integers(0, 30))
def test_control_characters_are_found_as_by_the_regex(cells: list[str | None], start: int, length: int) -> None:
    text = pa.array(cells, pa.string())
    assert pc.fill_null(_control(text), False).to_pylist() == _regex(text)
    piece = text.slice(min(start, len(text)), length)
    assert pc.fill_null(_control(piece), False).to_pylist() == _regex(piece)


def test_control_bytes_outside_the_slice_are_not_seen() -> None:
    text = pa.array(["a\x00", "plain", "text", "b\x01"])
    assert _control(text.slice(1, 2)).to_pylist() == [False, False]
    assert _control(text.slice(0, 2)).to_pylist() == [True, False]


PLAIN = st.from_regex(r"\A-?\d{1,15}(\.\d{1,3})?\Z")
TRICKY = st.sampled_from(
    [
        "1.2.3",
        "1..2",
        "-",
        "-1",
        "1-",
        "1.",
        ".1",
        "--1",
        "-.5",
        "1234567890123456",
        "-123456789012345.5",
        "",
        "+1",
        "1e3",
    ]
)
NUMBERS = st.one_of(st.none(), PLAIN, TRICKY, st.text(st.sampled_from("0123456789-.,+e $"), max_size=8))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PLAIN, NUMBERS), max_size=12), st.integers(0, 3))
def test_plain_decimals_are_found_as_by_the_regex(cells: list[str | None], start: int) -> None:
    whole = pa.array(cells, pa.string())
    for text in (whole, whole.slice(min(start, len(cells))), *(whole.slice(i, 1) for i in range(len(cells)))):
        plain = pc.match_substring_regex(text, r"^-?\d{1,15}(?:\.\d+)?$")
        # an empty batch: the regex answers null, the bytes True; both read nothing
        assert _plain_decimals(text) == (bool(pc.all(pc.fill_null(plain, True)).as_py()) or len(text) == 0)


TEXTS = st.text(
    st.sampled_from(["a", "中", " ", "\t", "\r", "\n", "\u00a0", "\u3000", "\u2007", "N", "A", "/"]), max_size=5
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), TEXTS, st.sampled_from(["NA", "N/A", "null", ""])), max_size=12), st.integers(0, 3)
)
def test_trimming_and_null_words_are_as_the_kernels_give(cells: list[str | None], start: int) -> None:
    mapping = ImportMapping()
    for text in (pa.array(cells, pa.string()), pa.array(cells, pa.string()).slice(min(start, len(cells)))):
        trimmed = pc.utf8_rtrim(pc.utf8_ltrim(text, characters=" \n\u00a0\u3000"), characters=" \t\r\n\u00a0\u3000")
        want = pc.if_else(pc.is_in(trimmed, pa.array(list(mapping.null_values))), pa.scalar(None, pa.string()), trimmed)
        assert _normalise_text(text, mapping).to_pylist() == want.to_pylist()


def test_a_cell_ends_where_the_next_begins() -> None:
    """'-' then '1', or '1.' then '5': the bytes read '-1' and '1.5', the cells are not numbers."""
    assert not _plain_decimals(pa.array(["-", "1"]))
    assert not _plain_decimals(pa.array(["1.", "5"]))
    assert not _plain_decimals(pa.array(["1", ".5"]))
    assert _plain_decimals(pa.array(["-1", "1.5", None, "0"]))


OFFSETS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2024-01-31 10:00:00+15:00",
            "2024-01-31 10:00:00-14:30",
            "2024-01-31T10:00+0800",
            "2024-01-31 10:00:00.5 +14:00",
            "2024-01-31 10:00:00Z",
            "2024-01-31 10:00:00+15:00 ",
            "2024-01-31 10:00:00+15:0",
            "2024-01-31",
            "",
            "年",
        ]
    ),
    st.text(st.sampled_from("0123456789:+- TZ.年"), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(OFFSETS, max_size=12), st.integers(0, 3))
def test_offsets_beyond_14_hours_are_found_as_by_the_regex(cells: list[str | None], start: int) -> None:
    """The offset check skips its regex on a batch where no cell ends in a digit (the regex
    ends with one); the mask must be the regex's, nulls as False."""
    for text in (pa.array(cells, pa.string()), pa.array(cells, pa.string()).slice(min(start, len(cells)))):
        parts = pc.extract_regex(text, _OFFSET)
        hours = pc.cast(pc.struct_field(parts, "h"), pa.int32())
        minutes = pc.cast(pc.struct_field(parts, "m"), pa.int32())
        beyond = pc.or_(
            pc.greater(hours, 14),
            pc.or_(pc.greater_equal(minutes, 60), pc.and_(pc.equal(hours, 14), pc.greater(minutes, 0))),
        )
        assert pc.fill_null(_bad_offset(text)[0], False).to_pylist() == pc.fill_null(beyond, False).to_pylist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXTS), max_size=12), st.integers(0, 3), st.booleans())
def test_edges_are_seen_where_a_cell_starts_or_ends(cells: list[str | None], start: int, first: bool) -> None:
    """``_some_edge`` never answers False when some present cell starts (ends) with a space byte."""
    characters = " \n\u00a0\u3000"
    for text in (pa.array(cells, pa.string()), pa.array(cells, pa.string()).slice(min(start, len(cells)))):
        cut = [c for c in text.to_pylist() if c]
        edges = {ch.encode()[0 if first else -1] for ch in characters}
        some = any((c.encode()[0] if first else c.encode()[-1]) in edges for c in cut)
        assert _some_edge(text, characters, first=first) or not some
