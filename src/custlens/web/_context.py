"""What every page route needs: the user, the language, the CSRF token and the renderer.

A page route is declared with :func:`page` (its permission is enforced by
:func:`custlens.api.require` and recorded in :data:`PAGES`), takes a :class:`PageContext`
and returns ``ctx.render(template, view)``. Labels come from the message catalogue of the
page's language (:mod:`custlens.i18n`); the language is ``?lang=``, else the language
cookie, else the browser's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from custlens.access import User, can
from custlens.api import PERMISSION_KEY, current_user, require
from custlens.errors import AuthenticationError
from custlens.i18n import Translator, choose_language

__all__ = [
    "LANG_COOKIE",
    "NAV",
    "PAGES",
    "PageContext",
    "anonymous_context",
    "page",
    "page_context",
    "page_count",
    "redirect",
    "templates",
]

LANG_COOKIE = "custlens_lang"
PAGE_MARK = "__custlens_page__"

PAGES: dict[tuple[str, str], str] = {}
"""``(method, path) -> permission`` of every page route (the role x page matrix is built from it)."""

NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "nav.overview", "customers:read"),
    ("/customers", "nav.customers", "customers:read"),
    ("/segments", "nav.segments", "segments:read"),
    ("/segments/rfm", "nav.rfm", "segments:read"),
    ("/segments/migration", "nav.migration", "segments:read"),
    ("/value/concentration", "nav.concentration", "value:read"),
    ("/value/clv", "nav.clv", "value:read"),
    ("/churn", "nav.churn", "churn:read"),
    ("/satisfaction", "nav.satisfaction", "satisfaction:read"),
    ("/imports", "nav.imports", "imports:run"),
    ("/admin/users", "nav.users", "users:manage"),
)
"""The navigation: path, label key and the permission a user needs to see the entry."""


@cache
def templates() -> Environment:
    """The Jinja2 environment of the pages (autoescaped; an undefined name is an error)."""
    folder = str(resources.files("custlens.web").joinpath("templates"))
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass
class PageContext:
    """One page request: who asks, in which language, and the service they ask.

    Attributes
    ----------
    request
        The request.
    user
        The signed-in user (``None`` on the sign-in page and on error pages before sign-in).
    t
        The translator of the page language (labels, numbers, money in the workspace currency).
    csrf
        The session's CSRF token, for every form that posts.
    """

    request: Request
    user: User | None
    t: Translator
    csrf: str

    @property
    def service(self) -> Any:
        """The :class:`custlens.service.Service` of the app."""
        return self.request.app.state.service

    @property
    def me(self) -> User:
        """The signed-in user (for the service's queries, which answer for one user).

        Raises
        ------
        AuthenticationError
            On a page opened without signing in.
        """
        if self.user is None:
            raise AuthenticationError("sign in first")
        return self.user

    def can(self, permission: str) -> bool:
        """Whether the user holds ``permission``."""
        return self.user is not None and can(self.user.role, permission)

    def url(self, path: str | None = None, **params: Any) -> str:
        """``path`` (default: this page) with this page's query changed by ``params`` (``None`` drops one)."""
        query = dict(self.request.query_params) if path is None else {}
        query.update({k: str(v) for k, v in params.items() if v is not None})
        for key in [k for k, v in params.items() if v is None]:
            query.pop(key, None)
        base = self.request.url.path if path is None else path
        return f"{base}?{urlencode(query)}" if query else base

    def render(self, template: str, view: dict[str, Any] | None = None, *, status: int = 200) -> HTMLResponse:
        """The page ``template`` filled with ``view``, in the page language."""
        nav = [(href, key) for href, key, perm in NAV if self.can(perm)]
        here = self.request.url.path
        langs = [(code, self.url(lang=code)) for code in ("zh", "en")]
        html = (
            templates()
            .get_template(template)
            .render(
                t=self.t,
                user=self.user,
                csrf=self.csrf,
                nav=nav,
                here=here,
                langs=langs,
                url=self.url,
                **(view or {}),
            )
        )
        response = HTMLResponse(html, status_code=status)
        self.remember_language(response)
        return response

    def remember_language(self, response: Any) -> None:
        """Keep a ``?lang=`` choice in the language cookie."""
        if self.request.query_params.get("lang") == self.t.lang:
            response.set_cookie(
                LANG_COOKIE, self.t.lang, max_age=365 * 86400, httponly=True, samesite="lax", secure=_tls(self.request)
            )


def _tls(request: Request) -> bool:
    return request.url.scheme == "https"


def _translator(request: Request) -> Translator:
    lang = choose_language(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    return Translator(lang, request.app.state.service.workspace.settings.currency)


def page_context(request: Request, user: User = Depends(current_user)) -> PageContext:
    """The context of a page for a signed-in user (dependency)."""
    session = request.state.__dict__.get("session")
    return PageContext(request, user, _translator(request), session.csrf_token if session is not None else "")


def anonymous_context(request: Request) -> PageContext:
    """The context of a page anyone may open (sign-in, error pages)."""
    return PageContext(request, None, _translator(request), "")


async def _form_token(request: Request) -> None:
    """Hand the form's ``csrf_token`` to :func:`custlens.api.current_user` (runs first)."""
    form = await request.form()
    token = form.get("csrf_token")
    request.state.csrf_form_token = token if isinstance(token, str) else None


def page(router: Any, method: str, path: str, permission: str | None) -> Callable[[Callable[..., Any]], Any]:
    """Register a page route on ``router`` that needs ``permission`` (``None``: any signed-in user).

    The permission is enforced by :func:`custlens.api.require` (401 sends the browser to
    the sign-in page, 403 shows the refusal page) and recorded in :data:`PAGES` and the
    route's ``openapi_extra``. A ``POST`` page reads the form's CSRF token first, so
    :func:`custlens.api.current_user` refuses a post without the session's token.
    """
    dependencies = [Depends(_form_token)] if method == "POST" else []
    dependencies.append(Depends(require(permission) if permission else current_user))
    permission = permission or "authenticated"

    def register(endpoint: Callable[..., Any]) -> Any:
        setattr(endpoint, PAGE_MARK, True)
        PAGES[(method, path)] = permission
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=dependencies,
            include_in_schema=False,
            response_class=HTMLResponse,
            openapi_extra={PERMISSION_KEY: permission},
        )
        return endpoint

    return register


def public(router: Any, method: str, path: str) -> Callable[[Callable[..., Any]], Any]:
    """Register a page anyone may open (the sign-in page); recorded in :data:`PAGES` as ``public``."""

    def register(endpoint: Callable[..., Any]) -> Any:
        setattr(endpoint, PAGE_MARK, True)
        PAGES[(method, path)] = "public"
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False, response_class=HTMLResponse)
        return endpoint

    return register


def page_count(page: Any) -> int:
    """How many pages a :class:`custlens.service.Page` list has (at least one)."""
    return max(1, -(-int(page.total) // int(page.page_size)))


def redirect(path: str) -> RedirectResponse:
    """See other: the browser loads ``path`` with GET (after a form post)."""
    return RedirectResponse(path, status_code=303)
