"""read_table hands a UTF-8 file's own bytes to Arrow: the same table as decoding it to text first.

The reference below is read_table's previous text path (decode, sniff, encode, parse), kept
here to compare with: both must give equal tables, or both the same error, for any file.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlens.errors import InputError
from custlens.ingest import read_table
from custlens.ingest.readers import _HEAD_BYTES, NULL_TEXT, _sniff_delimiter, decode_text


def _by_text(path: Path, all_strings: bool = False, text_columns: tuple[str, ...] = ()) -> pa.Table:
    """read_table's previous text path for .csv files."""
    text, _ = decode_text(path.read_bytes(), str(path))
    delimiter = _sniff_delimiter(text)
    if delimiter == " ":
        text = "\n".join(",".join(line.split()) for line in text.splitlines() if line.strip())
        delimiter = ","
    convert = pacsv.ConvertOptions(strings_can_be_null=True, null_values=list(NULL_TEXT))
    if all_strings:
        names = [n.strip() for n in next(iter(text.splitlines()), "").split(delimiter)]
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=True, null_values=[""]
        )
    elif text_columns:
        convert.column_types = {name: pa.string() for name in text_columns}
    try:
        return pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{path}: cannot parse as delimited text ({exc})") from None


def _same(path: Path, **options: object) -> None:
    try:
        want = _by_text(path, **options)  # type: ignore[arg-type]
    except InputError as exc:
        with pytest.raises(InputError) as got:
            read_table(path, **options)  # type: ignore[arg-type]
        assert str(got.value) == str(exc)
        return
    try:
        got_table = read_table(path, **options)  # type: ignore[arg-type]
    except InputError as exc:  # a repeated column name: read_table's own check, after parsing
        assert "appears" in str(exc)
        return
    assert got_table.equals(want)


CELLS = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab1.-_ é中"\t;,|\n\r')), max_size=8),
    st.sampled_from(["NA", "00042", "2.5", "2024-01-31"]),
)
SEPS = st.sampled_from([",", ";", "\t", "|", " "])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=8),
    sep=SEPS,
    bom=st.booleans(),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    all_strings=st.booleans(),
)
def test_same_table_as_decoding_first(
    rows: list[list[str]], sep: str, bom: bool, encoding: str, newline: str, all_strings: bool
) -> None:
    text = newline.join(sep.join(row) for row in rows)
    data = text.encode(encoding)
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_bytes(data)
        _same(path, all_strings=all_strings)
        _same(path, text_columns=("a",))


def test_large_file_with_bom_and_non_ascii_text(tmp_path: Path) -> None:
    """Past the first MiB (the part read as text for the delimiter and header), with a BOM."""
    lines = ["customer_id;name;amount"] + [f"{i:05d};Zoë {i};{i * 0.25}" for i in range(120_000)]
    path = tmp_path / "big.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    assert path.stat().st_size > 2 * _HEAD_BYTES
    table = read_table(path, text_columns=("customer_id",))
    assert table.column_names == ["customer_id", "name", "amount"]
    assert table.num_rows == 120_000 and table["customer_id"][7].as_py() == "00007"
    assert table.equals(_by_text(path, text_columns=("customer_id",)))


def test_header_longer_than_the_head(tmp_path: Path) -> None:
    """A first line beyond the first MiB is read whole for the column names (Arrow then refuses
    a line longer than its block, as it did before)."""
    names = [f"column_{i:07d}" for i in range(_HEAD_BYTES // 10)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n", encoding="utf-8")
    _same(path, all_strings=True)


def test_invalid_utf8_still_named_with_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,\xff\xfe\xfd\n")
    with pytest.raises(InputError, match=r"bad\.csv: not UTF-8 \(invalid byte at offset 6\)"):
        read_table(path)


def test_space_separated_file_all_strings_keeps_every_column_text(tmp_path: Path) -> None:
    # the header's names are taken from the line as the reader sees it (split at blanks);
    # before, they were split at commas and only a name without blanks matched, so the
    # other columns were typed (1 -> int64, 2024-01-31 -> date32)
    path = tmp_path / "f.csv"
    path.write_bytes("a 中 c\r\n1 2024-01-31 007\n2 NA 8\n".encode("gb18030"))
    table = read_table(path, all_strings=True)
    assert table.schema.types == [pa.string()] * 3
    assert table.to_pydict() == {"a": ["1", "2"], "中": ["2024-01-31", "NA"], "c": ["007", "8"]}
