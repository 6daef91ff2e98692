"""Administration pages: imports and analysis runs (background jobs), users and roles."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response

from custlens.errors import CustlensError
from custlens.web import _views_admin as views
from custlens.web._context import PageContext, page, page_context, redirect

__all__ = ["router"]

router = APIRouter()

_DONE = ("added", "role", "password", "disabled", "enabled")


@page(router, "GET", "/imports", "imports:run")
def imports(ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """The upload form, the analysis run and the jobs so far."""
    return ctx.render("imports.html", views.imports(ctx))


@page(router, "POST", "/imports", "imports:run")
def upload(
    ctx: PageContext = Depends(page_context),
    file: UploadFile = File(...),
    table: str = Form(...),
    on_repeat: str = Form("skip", pattern="^(skip|error|import)$"),
    mode: str = Form("append", pattern="^(append|upsert)$"),
) -> Response:
    """Queue the import of an uploaded file and follow its job."""
    job_id = views.start_import(ctx, table, file.filename or "", file.file, on_repeat, mode)
    return redirect(f"/imports/jobs/{job_id}")


@page(router, "POST", "/imports/analysis", "analysis:run")
def run_analysis(ctx: PageContext = Depends(page_context), as_of: str = Form("", max_length=10)) -> Response:
    """Queue a run of the standard analysis and follow its job."""
    return redirect(f"/imports/jobs/{views.start_analysis(ctx, as_of)}")


@page(router, "GET", "/imports/jobs/{job_id}", "jobs:read")
def job(job_id: str, ctx: PageContext = Depends(page_context)) -> HTMLResponse:
    """A job's progress; an import's report and quarantine rows when it is done."""
    return ctx.render("job.html", views.job(ctx, job_id))


def _users_page(
    ctx: PageContext, *, done: str = "", name: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    view = {**views.users(ctx), "done": done if done in _DONE else "", "name": name, "error": error}
    return ctx.render("users.html", view, status=status)


def _changed(ctx: PageContext, change: Callable[[], object], done: str, name: str) -> Response:
    """Make a change; then back to the list saying what was done, or the list with the refusal."""
    try:
        change()
    except CustlensError as exc:
        if exc.http_status >= 500 or exc.http_status in (401, 403):
            raise
        return _users_page(ctx, error=str(exc), status=exc.http_status)
    return redirect(ctx.url("/admin/users", done=done, name=name))


@page(router, "GET", "/admin/users", "users:manage")
def users(ctx: PageContext = Depends(page_context), done: str = "", name: str = "") -> HTMLResponse:
    """Every user with role and state, and the forms that change them."""
    return _users_page(ctx, done=done, name=name)


@page(router, "POST", "/admin/users", "users:manage")
def add_user(
    ctx: PageContext = Depends(page_context),
    username: str = Form(..., max_length=64),
    role: str = Form(...),
    password: str = Form(..., max_length=1024),
) -> Response:
    """Create a user."""
    from custlens.service import create_user

    return _changed(
        ctx,
        lambda: create_user(ctx.service, ctx.me, username=username, password=password, role=role),
        "added",
        username,
    )


@page(router, "POST", "/admin/users/{username}/role", "users:manage")
def set_role(username: str, ctx: PageContext = Depends(page_context), role: str = Form(...)) -> Response:
    """Change a user's role (the last enabled admin keeps theirs)."""
    from custlens.service import update_user

    return _changed(ctx, lambda: update_user(ctx.service, ctx.me, username, role=role), "role", username)


@page(router, "POST", "/admin/users/{username}/password", "users:manage")
def set_password(
    username: str, ctx: PageContext = Depends(page_context), password: str = Form(..., max_length=1024)
) -> Response:
    """Replace a user's password (ends their sessions, unlocks the account)."""
    from custlens.service import reset_password

    return _changed(ctx, lambda: reset_password(ctx.service, ctx.me, username, password), "password", username)


@page(router, "POST", "/admin/users/{username}/disabled", "users:manage")
def set_disabled(username: str, ctx: PageContext = Depends(page_context), disabled: bool = Form(...)) -> Response:
    """Disable a user (ends their sessions, revokes their tokens) or enable them again."""
    from custlens.service import update_user

    done = "disabled" if disabled else "enabled"
    return _changed(ctx, lambda: update_user(ctx.service, ctx.me, username, disabled=disabled), done, username)
