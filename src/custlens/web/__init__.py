"""The dashboard: server-rendered pages of the customer-knowledge service, in Chinese and English.

:func:`install` mounts the pages on an app made by :func:`custlens.api.create_app`::

    from custlens.api import create_app
    from custlens.web import install

    app = install(create_app("shop"))

Pages sign in with a session cookie (the sign-in form), check the same permissions as the
API (:func:`custlens.api.require`), read the stored analysis through
:mod:`custlens.service`, label everything from the message catalogues of
:mod:`custlens.i18n` and draw the report's Plotly figures with plotly.js served from the
installed ``plotly`` package. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from custlens.web._context import LANG_COOKIE, NAV, PAGES
from custlens.web._install import PLOTLY_JS, STATIC_PATH, install, mount
from custlens.web._routes import router

__all__ = ["LANG_COOKIE", "NAV", "PAGES", "PLOTLY_JS", "STATIC_PATH", "install", "mount", "router"]
