"""Administration pages: users and roles (``users:manage``), imports (``imports:run``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, Response

from custlens.errors import ConflictError, InputError, NotFoundError
from custlens.web._context import PageContext, page, page_context, redirect

__all__ = ["router"]

router = APIRouter()

_DONE = ("added", "role", "password", "disabled", "enabled")


def _users_page(
    ctx: PageContext, *, done: str = "", name: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    from custlens.access import ROLES

    view = {
        "users": ctx.service.access.list_users(),
        "roles": ROLES,
        "done": done if done in _DONE else "",
        "name": name,
        "error": error,
    }
    return ctx.render("users.html", view, status=status)


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
    try:
        ctx.service.access.add_user(username, password, role)
    except (InputError, ConflictError) as exc:
        return _users_page(ctx, error=str(exc), status=exc.http_status)
    return redirect(ctx.url("/admin/users", done="added", name=username))


@page(router, "POST", "/admin/users/{username}/role", "users:manage")
def set_role(username: str, ctx: PageContext = Depends(page_context), role: str = Form(...)) -> Response:
    """Change a user's role."""
    try:
        ctx.service.access.set_role(username, role)
    except (InputError, NotFoundError) as exc:
        return _users_page(ctx, error=str(exc), status=exc.http_status)
    return redirect(ctx.url("/admin/users", done="role", name=username))


@page(router, "POST", "/admin/users/{username}/password", "users:manage")
def set_password(
    username: str, ctx: PageContext = Depends(page_context), password: str = Form(..., max_length=1024)
) -> Response:
    """Replace a user's password (ends their sessions, unlocks the account)."""
    try:
        ctx.service.access.set_password(username, password)
    except (InputError, NotFoundError) as exc:
        return _users_page(ctx, error=str(exc), status=exc.http_status)
    return redirect(ctx.url("/admin/users", done="password", name=username))


@page(router, "POST", "/admin/users/{username}/disabled", "users:manage")
def set_disabled(username: str, ctx: PageContext = Depends(page_context), disabled: bool = Form(...)) -> Response:
    """Disable a user (ends their sessions, revokes their tokens) or enable them again."""
    try:
        ctx.service.access.set_disabled(username, disabled)
    except NotFoundError as exc:
        return _users_page(ctx, error=str(exc), status=exc.http_status)
    return redirect(ctx.url("/admin/users", done="disabled" if disabled else "enabled", name=username))
