"""The quick checks of ``clean_batch`` answer what the regular expressions they skip answer.

A batch is searched for control characters with one look at its bytes; only a batch holding
a control byte runs the regular expression (``clean._control``). Generated texts of any
characters (control characters, tab, CR, LF, DEL, multi-byte characters whose bytes look
like nothing of the kind), nulls and slices must give the regex's mask, nulls as False
(as the error records read them).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from custlens.ingest.clean import _CONTROL, _control

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
