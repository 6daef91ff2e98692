"""Multi-dimensional analysis (the course's data warehouse and OLAP): the cube.

Measures (revenue, orders, customers, quantity, profit, CLV, P(alive), ...) by dimensions
(customer attributes, time, product category, channel, segments of the stored analysis)
with roll-up subtotals, slices in the rule language and drill-down, on DuckDB and Spark
(:func:`cube_table` runs on any Ibis backend). :func:`pivot` gives the report's two-way
tables; :mod:`custlens.cube.scheme` the HSBC-style multi-dimensional customer scheme. See
``docs/cube.md``.
"""

from __future__ import annotations

from custlens.cube._api import Subtotals, cube, cube_table, pivot, pivot_table
from custlens.cube._catalogue import (
    DIMENSIONS,
    MEASURES,
    SEGMENT_METHODS,
    Dimension,
    Measure,
    catalogue,
    grouping_sets,
)
from custlens.cube._facts import MISSING
from custlens.cube.scheme import SCHEME_MEASURES, hsbc_scheme, scheme_cube

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "MEASURES",
    "MISSING",
    "Measure",
    "SCHEME_MEASURES",
    "SEGMENT_METHODS",
    "Subtotals",
    "catalogue",
    "cube",
    "cube_table",
    "grouping_sets",
    "hsbc_scheme",
    "pivot",
    "pivot_table",
    "scheme_cube",
]
