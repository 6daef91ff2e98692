"""What every page route needs: the user, the language, the CSRF token and the renderer.

A page route is declared with :func:`page` (its permission is enforced by
:func:`custlens.api.secured`, like an API route's, and recorded in :data:`PAGES`), takes
a :class:`PageContext` and returns ``ctx.render(template, view)``. Labels come from the
message catalogue of the page's language (:mod:`custlens.i18n`); the language is
``?lang=``, else the language cookie, else the browser's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from custlens.access import User, can
from custlens.api import current_user, secured
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

PAGES: dict[tuple[str, str], str] = {}
"""``(method, path) -> permission`` of every page route (the role x page matrix is built from it)."""

NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "nav.overview", "analyses:read"),
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
        langs = [(code, self._language_link(code)) for code in ("zh", "en")]
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
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        self.remember_language(response)
        return response

    def _language_link(self, lang: str) -> str:
        """This page in ``lang``; after a form post, the page the form was on (a post cannot be linked)."""
        if self.request.method == "GET":
            return self.url(lang=lang)
        came_from = urlsplit(self.request.headers.get("referer", ""))
        if came_from.netloc != self.request.url.netloc or not came_from.path.startswith("/"):
            return f"/?lang={lang}"
        query = {k: v for k, v in parse_qsl(came_from.query) if k != "lang"}
        return f"{came_from.path}?{urlencode({**query, 'lang': lang})}"

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
    session = getattr(request.state, "session", None)
    return PageContext(request, user, _translator(request), session.csrf_token if session is not None else "")


def anonymous_context(request: Request) -> PageContext:
    """The context of a page anyone may open (sign-in, error pages)."""
    return PageContext(request, None, _translator(request), "")


def page(router: Any, method: str, path: str, permission: str) -> Callable[[Callable[..., Any]], Any]:
    """Register a page route on ``router`` that needs ``permission``.

    ``permission`` is one of :data:`custlens.access.PERMISSIONS`, :data:`custlens.api.AUTHENTICATED`
    (any signed-in user) or :data:`custlens.api.PUBLIC` (the sign-in page). The route is
    registered with :func:`custlens.api.secured`, like every API route: the permission is
    checked by :func:`custlens.api.require` (no session: the browser goes to the sign-in
    page; a refused permission: the refusal page), a form post must carry the session's
    CSRF token (field ``csrf_token``), and the permission is recorded in the route and in
    :data:`PAGES`. Pages are left out of the OpenAPI description.
    """

    def register(endpoint: Callable[..., Any]) -> Any:
        PAGES[(method, path)] = permission
        return secured(router, method, path, permission, include_in_schema=False, response_class=HTMLResponse)(endpoint)

    return register


def page_count(page: Any) -> int:
    """How many pages a :class:`custlens.service.Page` list has (at least one)."""
    return max(1, -(-int(page.total) // int(page.page_size)))


def redirect(path: str) -> RedirectResponse:
    """See other: the browser loads ``path`` with GET (after a form post)."""
    return RedirectResponse(path, status_code=303)
