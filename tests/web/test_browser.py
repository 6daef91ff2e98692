"""Every page in a real headless Chromium, in Chinese and in English: no console errors, a screenshot.

The site runs on uvicorn in a thread on a free localhost port; Playwright drives Debian's
Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it with the CJK fonts). The tests skip
only when that browser is absent. Screenshots are written to each test's ``tmp_path``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custlens.web import PAGES

from .conftest import PASSWORD, Site

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = [
    pytest.mark.xdist_group("web"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
GET_PAGES = sorted(p for (m, p), perm in PAGES.items() if m == "GET" and not p.startswith("/imports/jobs/"))
CHARTS_DRAWN = "() => [...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg'))"


class Server:
    """uvicorn serving an app in a thread on a free localhost port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[Server]:
    running = Server(site.app)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A browser page whose console errors and uncaught exceptions are collected."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, url: str) -> Any:
        answer = self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function(CHARTS_DRAWN, timeout=20_000)
        return answer

    def shot(self, path: Path) -> Path:
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        return path


def sign_in(context: Any, base: str, role: str, lang: str) -> Watched:
    watched = Watched(context)
    watched.open(f"{base}/login?lang={lang}")
    watched.page.fill("input[name=username]", role)
    watched.page.fill("input[name=password]", PASSWORD)
    watched.page.click("form[action='/login'] button[type=submit]")
    watched.page.wait_for_url(f"{base}/")
    return watched


@pytest.fixture(scope="module")
def contexts(browser: Any, server: Server) -> Iterator[dict[str, Any]]:
    """A signed-in admin per language (a desktop window)."""
    made = {}
    for lang in ("zh", "en"):
        context = browser.new_context(
            viewport={"width": 1400, "height": 900}, locale="zh-CN" if lang == "zh" else "en-US"
        )
        sign_in(context, server.url, "admin", lang).page.close()
        made[lang] = context
    yield made
    for context in made.values():
        context.close()


def _url(site: Site, path: str) -> str:
    fills = {
        "/customers/{customer_id}": f"/customers/{site.one_customer()}",
        "/segments/members": "/segments/members?method=rfm&segment=Champions",
    }
    return fills.get(path, path)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", GET_PAGES)
def test_every_page_opens_without_console_errors(
    site: Site, server: Server, contexts: dict, lang: str, path: str, tmp_path: Path
) -> None:
    watched = Watched(contexts[lang])
    answer = watched.open(server.url + _url(site, path) + ("&" if "?" in _url(site, path) else "?") + f"lang={lang}")
    assert answer is not None and answer.status == 200
    name = path.strip("/").replace("/", "-").replace("{", "").replace("}", "") or "overview"
    watched.shot(tmp_path / f"{name}-{lang}.png")
    heading = watched.page.locator("h1").first.inner_text()
    assert heading.strip()
    assert not watched.errors, watched.errors
    watched.page.close()


def test_sign_in_then_segments_then_a_customers_profile(browser: Any, server: Server, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    watched = sign_in(context, server.url, "sales", "zh")
    page = watched.page
    page.click("header nav >> text=客户细分")
    page.wait_for_url(f"{server.url}/segments")
    page.wait_for_function(CHARTS_DRAWN)
    page.click("section table.data >> a >> nth=0")
    page.wait_for_url("**/segments/members?**")
    first = page.locator("table.data tbody a").first
    customer = first.inner_text()
    first.click()
    page.wait_for_url(f"**/customers/{customer}")
    assert page.locator("h1").inner_text() == f"客户 {customer}"
    assert page.locator("table.timeline tbody tr").count() > 0
    assert page.locator("text=联系信息").count() == 1  # sales sees the contact section
    watched.shot(tmp_path / "walk-profile-zh.png")
    assert not watched.errors, watched.errors
    context.close()


def test_the_rule_builders_count_follows_the_typing(server: Server, contexts: dict, tmp_path: Path) -> None:
    watched = Watched(contexts["en"])
    watched.open(f"{server.url}/segments")
    box = watched.page.locator("#rule")
    box.fill("")
    box.type("revenue > 10000", delay=20)
    watched.page.wait_for_selector("#rule-result .count", timeout=10_000)
    first = watched.page.locator("#rule-result .count").inner_text()
    box.type(" and risk_band = 'low'", delay=20)
    watched.page.wait_for_function(
        "(before) => { const c = document.querySelector('#rule-result .count'); return c && c.innerText !== before; }",
        arg=first,
        timeout=10_000,
    )
    assert "customers" in watched.page.locator("#rule-result .count").inner_text()
    assert watched.page.url.endswith("/segments")  # counted without leaving the page
    watched.shot(tmp_path / "rule-builder-en.png")
    assert not watched.errors, watched.errors
    watched.page.close()


def test_an_upload_shows_its_progress_and_report(browser: Any, web_template: Path, tmp_path: Path) -> None:
    shutil.copytree(web_template, tmp_path / "workspace")
    own = Site(tmp_path / "workspace")
    running = Server(own.app)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        watched = sign_in(context, running.url, "analyst", "zh")
        csv = tmp_path / "new-customers.csv"
        lines = ["customer_id,customer_type,region,created_at", "X00001,personal,east_china,yesterday"]
        lines += [f"X{i:05d},corporate,south_china,2025-03-0{1 + i % 9}" for i in range(2, 400)]
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        watched.open(f"{running.url}/imports")
        watched.page.set_input_files("input[type=file]", str(csv))
        watched.page.click("form[action='/imports'] button[type=submit]")
        watched.page.wait_for_url("**/imports/jobs/**")
        watched.page.wait_for_selector("#job[data-done=true]", timeout=60_000)
        assert watched.page.locator("text=已导入").count() >= 1
        assert watched.page.locator("td:has-text('yesterday')").count() == 1  # the quarantined value
        watched.shot(tmp_path / "import-job-zh.png")
        assert not watched.errors, watched.errors
        context.close()
    finally:
        running.stop()
        own.close()
