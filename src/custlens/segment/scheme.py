"""Multi-dimensional segmentation schemes: several segmentations and attributes side by side.

As in the bank case of the course (customer type x relationship x activity x value tier),
each customer's combined segment joins the segment of every dimension, e.g.
``personal | loyal | active | VIP``; the summary counts customers in each combination.
Customers must appear in every dimension (inner join on ``customer_id``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from custlens.errors import InputError
from custlens.segment._common import SegmentResult, SummarySpec, as_ibis, require_columns

__all__ = ["combine"]


def combine(
    dimensions: Mapping[str, SegmentResult],
    *,
    attributes: Any = None,
    attribute_columns: Sequence[str] = (),
    value_col: str | None = None,
    customer_col: str = "customer_id",
    separator: str = " | ",
) -> SegmentResult:
    """Compose segmentations (and attribute columns) into one multi-dimensional scheme.

    Parameters
    ----------
    dimensions
        Dimension name -> result of a segmentation (e.g. ``{"relationship": state_result,
        "value_tier": pyramid_result}``); the order is the order of the parts.
    attributes
        Optional per-customer table whose ``attribute_columns`` (e.g. ``customer_type``)
        become leading dimensions, and whose ``value_col`` feeds the summary's value.

    Returns
    -------
    SegmentResult
        ``customers``: ``customer_id``, one column per dimension (attributes first),
        ``segment`` and ``segment_zh`` (parts joined by ``separator``).
    """
    if not dimensions and not attribute_columns:
        raise InputError("combine: give at least one dimension or attribute column")
    parts: list[str] = []
    table = None
    zh_parts = []
    if attribute_columns or value_col:
        if attributes is None:
            raise InputError("combine: attribute_columns/value_col need an attributes table")
        at = as_ibis(attributes, "attributes")
        require_columns(
            at,
            {
                "customer_col": customer_col,
                **{c: c for c in attribute_columns},
                **({"value_col": value_col} if value_col else {}),
            },
            "combine",
        )
        sel = {"customer_id": at[customer_col].cast("string")}
        sel.update({c: at[c].cast("string").fill_null("(missing)") for c in attribute_columns})
        if value_col:
            sel["_value"] = at[value_col].cast("float64")
        table = at.select(**sel)
        parts += list(attribute_columns)
        zh_parts += [table[c] for c in attribute_columns]
    for name, res in dimensions.items():
        if name in parts or name in ("customer_id", "segment", "segment_zh"):
            raise InputError(f"combine: dimension name {name!r} is used twice or is reserved")
        c = res.customers
        d = c.select(**{f"_{name}_id": c.customer_id, name: c.segment, f"_{name}_zh": c.segment_zh})
        if table is None:
            table = d.rename(customer_id=f"_{name}_id")
        else:
            table = table.inner_join(d, table.customer_id == d[f"_{name}_id"]).drop(f"_{name}_id")
        parts.append(name)
    assert table is not None
    zh_cols = [table[c] for c in attribute_columns] + [table[f"_{n}_zh"] for n in dimensions]
    seg = table[parts[0]]
    zh = zh_cols[0]
    for p, z in zip(parts[1:], zh_cols[1:]):
        seg = seg + separator + table[p]
        zh = zh + separator + z
    out = table.mutate(segment=seg, segment_zh=zh)
    # combinations are ranked by name; their Chinese names come from the table itself
    spec = SummarySpec((), None, "_value" if value_col else None, None)
    as_ofs = {r.as_of for r in dimensions.values() if r.as_of is not None}
    as_of = as_ofs.pop() if len(as_ofs) == 1 else None
    return SegmentResult(
        "scheme",
        as_of,
        out,
        ("customer_id", *parts, "segment", "segment_zh"),
        spec,
        {
            "dimensions": {n: r.method for n, r in dimensions.items()},
            "attributes": list(attribute_columns),
            "separator": separator,
        },
        {"dimensions": parts, "value_column": value_col},
    )
