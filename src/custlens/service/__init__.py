"""The customer-knowledge service's library layer, shared by the REST API and the web pages.

:class:`Service` holds a workspace open (the one DuckDB writer) with per-thread readers,
the access store and the queue of background jobs; the query functions answer one
question each for one user, with that user's permission checked and visibility applied,
from the stored analysis and the canonical tables. Routes and pages call one of these
functions and format what it returns; none computes a statistic. See ``docs/api.md``.
"""

from __future__ import annotations

from custlens.service._exports import EXPORT_FORMATS, Export, campaign_export, neutralise_formulas
from custlens.service._jobs import JOB_STATUSES, JOBS_KEPT, Job, JobRunner, error_code
from custlens.service._lookup import LIST_COLUMNS, CustomerLookup
from custlens.service._privacy import (
    audit_entries,
    correct_customer,
    erase_customer,
    export_customer_data,
    find_by_contact,
    run_retention,
    verify_audit,
)
from custlens.service._queries import (
    MAX_PAGE_SIZE,
    SORTABLE,
    Page,
    count_customers,
    customer_fields,
    customer_identity,
    customer_profile,
    page_of,
    plain,
    search_customers,
)
from custlens.service._results import (
    AT_RISK_COLUMNS,
    SATISFACTION_PARTS,
    analysis_metadata,
    at_risk_customers,
    clv_distribution,
    clv_matrix,
    list_stored_analyses,
    overview,
    risk_bands,
    satisfaction,
    top_customers,
)
from custlens.service._segments import (
    METHOD_RESULTS,
    segment_members,
    segment_methods,
    segment_migration,
    segment_summary,
)
from custlens.service._service import INDEXED_TABLES, Service
from custlens.service._timeline import CanonicalIndex
from custlens.service._users import (
    create_user,
    end_session,
    issue_login_token,
    list_tokens,
    list_users,
    login,
    reset_password,
    revoke_token,
    start_session,
    update_user,
)
from custlens.service._writes import UPLOAD_SUFFIXES, get_job, list_jobs, start_analysis, start_import

__all__ = [
    "audit_entries",
    "correct_customer",
    "erase_customer",
    "export_customer_data",
    "find_by_contact",
    "run_retention",
    "verify_audit",
    "AT_RISK_COLUMNS",
    "CanonicalIndex",
    "CustomerLookup",
    "EXPORT_FORMATS",
    "Export",
    "INDEXED_TABLES",
    "JOBS_KEPT",
    "JOB_STATUSES",
    "Job",
    "JobRunner",
    "LIST_COLUMNS",
    "MAX_PAGE_SIZE",
    "METHOD_RESULTS",
    "Page",
    "SATISFACTION_PARTS",
    "SORTABLE",
    "Service",
    "UPLOAD_SUFFIXES",
    "analysis_metadata",
    "at_risk_customers",
    "campaign_export",
    "clv_distribution",
    "clv_matrix",
    "count_customers",
    "create_user",
    "customer_fields",
    "customer_identity",
    "customer_profile",
    "end_session",
    "error_code",
    "get_job",
    "list_jobs",
    "list_stored_analyses",
    "list_tokens",
    "list_users",
    "neutralise_formulas",
    "overview",
    "page_of",
    "plain",
    "reset_password",
    "revoke_token",
    "risk_bands",
    "satisfaction",
    "search_customers",
    "segment_members",
    "segment_methods",
    "segment_migration",
    "segment_summary",
    "start_analysis",
    "start_import",
    "start_session",
    "issue_login_token",
    "login",
    "top_customers",
    "update_user",
]
