"""The customer-knowledge service's library layer, shared by the REST API and the web pages.

:class:`Service` holds a workspace open (the one DuckDB writer) with per-thread readers
and the access store; the query functions answer one question each for one user, with
that user's visibility applied, from the stored analysis and the canonical tables. Routes
and pages call one of these functions and format what it returns.
"""

from __future__ import annotations

from custlens.service._queries import MAX_PAGE_SIZE, Page, customer_profile, page_of, search_customers, segment_members
from custlens.service._service import Service

__all__ = [
    "MAX_PAGE_SIZE",
    "Page",
    "Service",
    "customer_profile",
    "page_of",
    "search_customers",
    "segment_members",
]
