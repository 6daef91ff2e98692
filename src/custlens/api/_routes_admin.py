"""Routes that write or hand out files: exports, imports, jobs, users."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from custlens.access import User
from custlens.api._app import JSON
from custlens.api._routes import PageModel, PageQuery, page_query, service_of
from custlens.api._security import current_user, secured

__all__ = ["router"]

router = APIRouter()

Role = Literal["admin", "analyst", "marketing", "sales", "service"]


# -- exports --------------------------------------------------------------------------------------------------
@secured(
    router,
    "GET",
    "/api/v1/exports/campaign",
    "exports:create",
    tags=["exports"],
    responses={200: {"description": "the file", "content": {"text/csv": {}, "application/octet-stream": {}}}},
)
def campaign(
    request: Request,
    method: str = Query(max_length=64, description="The segmentation."),
    segment: str | None = Query(None, max_length=128, description="One of its segments (default: all)."),
    format: Literal["csv", "xlsx"] = "csv",
    languages: list[Literal["en", "zh"]] = Query(["en", "zh"], description="Action columns in English and/or Chinese."),
    contacts: bool = Query(True, description="Add the contact columns the role may see."),
    analysis_id: str | None = Query(None, max_length=64),
    user: User = Depends(current_user),
) -> Response:
    """A segment's campaign list (playbook action per customer) as CSV or XLSX.

    Contact columns only for roles that may see them: every customer's for
    ``identity:read``, consenting customers' for ``contact:read``.
    """
    from custlens.service import campaign_export

    export = campaign_export(
        service_of(request),
        user,
        method,
        segment,
        fmt=format,
        analysis_id=analysis_id,
        languages=tuple(dict.fromkeys(languages)),
        contacts=contacts,
    )
    disposition = f'attachment; filename="{export.filename}"'
    return Response(export.content, media_type=export.media_type, headers={"Content-Disposition": disposition})


# -- imports and jobs -----------------------------------------------------------------------------------
@secured(router, "POST", "/api/v1/imports", "imports:run", status_code=202, tags=["jobs"])
def import_upload(
    request: Request,
    file: UploadFile = File(description="A .csv, .tsv, .txt, .parquet, .pq or .xlsx file."),
    table: str = Form(max_length=64, description="The canonical table to fill."),
    mapping: UploadFile | None = File(None, description="A TOML mapping file (see docs/import.md)."),
    max_reject_rate: float | None = Form(None, ge=0, le=1, description="Largest share of rejected rows accepted."),
    on_repeat: Literal["skip", "error", "import"] = Form("skip"),
    mode: Literal["append", "upsert"] = Form(
        "append", description="upsert: update customers or receivables by key, keeping the old values as history."
    ),
    user: User = Depends(current_user),
) -> Response:
    """Upload a file and import it in the background; answers 202 with the job (progress while it reads)."""
    from custlens.service import start_import

    job = start_import(
        service_of(request),
        user,
        table=table,
        filename=file.filename or "",
        source=file.file,
        mapping=mapping.file if mapping is not None else None,
        max_reject_rate=max_reject_rate,
        on_repeat=on_repeat,
        mode=mode,
    )
    return JSON(job.to_dict(), status_code=202)


@secured(router, "GET", "/api/v1/jobs", "jobs:read", response_model=PageModel, tags=["jobs"])
def jobs(request: Request, paging: PageQuery = Depends(page_query), user: User = Depends(current_user)) -> Response:
    """Background jobs (imports, analysis runs), newest first."""
    from custlens.service import list_jobs

    return JSON(list_jobs(service_of(request), user, page=paging.page, page_size=paging.page_size).to_dict())


@secured(router, "GET", "/api/v1/jobs/{job_id}", "jobs:read", tags=["jobs"])
def job(request: Request, job_id: str, user: User = Depends(current_user)) -> dict[str, Any]:
    """One job: status (queued, running, done, failed), progress, message, result or error."""
    from custlens.service import get_job

    return get_job(service_of(request), user, job_id)


# -- users ------------------------------------------------------------------------------------------------------
@secured(router, "GET", "/api/v1/users", "users:manage", response_model=PageModel, tags=["users"])
def users(request: Request, paging: PageQuery = Depends(page_query), user: User = Depends(current_user)) -> Response:
    """Every user: name, role, created, disabled, locked until."""
    from custlens.service import list_users

    return JSON(list_users(service_of(request), user, page=paging.page, page_size=paging.page_size).to_dict())


@secured(router, "POST", "/api/v1/users", "users:manage", status_code=201, tags=["users"])
def user_add(
    request: Request,
    username: str = Body(max_length=64),
    password: str = Body(max_length=1024),
    role: Role = Body(),
    user: User = Depends(current_user),
) -> Response:
    """Add a user with a role (the password has at least 10 characters)."""
    from custlens.service import create_user

    return JSON(create_user(service_of(request), user, username=username, password=password, role=role), 201)


@secured(router, "PATCH", "/api/v1/users/{username}", "users:manage", tags=["users"])
def user_change(
    request: Request,
    username: str,
    role: Role | None = Body(None),
    disabled: bool | None = Body(None),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Change a user's role and/or disable or enable them (disabling ends sessions and revokes tokens)."""
    from custlens.service import update_user

    return update_user(service_of(request), user, username, role=role, disabled=disabled)


@secured(router, "PUT", "/api/v1/users/{username}/password", "users:manage", tags=["users"])
def user_password(
    request: Request,
    username: str,
    password: str = Body(embed=True, max_length=1024),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """Reset a user's password (unlocks the account, ends its sessions)."""
    from custlens.service import reset_password

    return reset_password(service_of(request), user, username, password)
