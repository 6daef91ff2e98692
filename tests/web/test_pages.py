"""Every page through FastAPI's TestClient: roles, sign-in, CSRF, cookies, what each page shows."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from custlens.access import PERMISSIONS, can
from custlens.privacy import read_identity
from custlens.web import PAGES

from .conftest import PASSWORD, ROLES, Site, csrf_of, page_urls

pytestmark = pytest.mark.xdist_group("web")


def _path(url: str) -> str:
    path = urlsplit(url).path
    return "/customers/{customer_id}" if path.startswith("/customers/") else path


class Forms(HTMLParser):
    """The forms of a page: method, action and their hidden fields; scripts and inline handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.handlers += [f"{tag}[{k}]" for k in a if k.startswith("on")]
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "action": a.get("action"), "fields": {}})
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1]["fields"][a.get("name")] = a.get("value")
        elif tag == "script":
            self.scripts.append(a)


def _forms(html: str) -> Forms:
    parser = Forms()
    parser.feed(html)
    return parser


def test_every_page_route_declares_its_permission() -> None:
    from custlens.api import PERMISSION_KEY
    from custlens.web import router

    allowed = {*PERMISSIONS, "public", "authenticated"}
    for route in router.routes:
        declared = (getattr(route, "openapi_extra", None) or {}).get(PERMISSION_KEY)
        assert declared in allowed, f"{route.path} declares no known permission ({declared!r})"
        for method in route.methods - {"HEAD"}:
            assert PAGES[(method, route.path)] == declared
    assert PAGES[("GET", "/login")] == "public"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_the_pages_its_permissions_allow(site: Site, clients: dict, role: str) -> None:
    client = clients[(role, "en")]
    for url in page_urls(site):
        answer = client.get(url)
        permission = PAGES[("GET", _path(url))]
        if can(role, permission):
            assert answer.status_code == 200, (role, url, answer.text[-600:])
            assert answer.headers["content-type"].startswith("text/html")
        else:
            assert answer.status_code == 403, (role, url)
            assert "Not allowed" in answer.text and "<html" in answer.text


@pytest.mark.parametrize("role", ROLES)
def test_the_navigation_lists_the_pages_of_the_role(site: Site, clients: dict, role: str) -> None:
    from custlens.web import NAV

    html = clients[(role, "en")].get("/customers").text
    for href, _key, permission in NAV:
        assert PAGES[("GET", href)] == permission, href
        linked = f'<a href="{href}"' in html
        assert linked == can(role, permission), (role, href)


def test_without_a_session_a_page_sends_the_browser_to_sign_in(site: Site) -> None:
    client = site.anonymous()
    for url in page_urls(site):
        answer = client.get(url)
        assert answer.status_code == 303, url
        assert answer.headers["location"] == f"/login?next={quote(url, safe='')}"
    for (method, path), permission in PAGES.items():
        if method == "POST" and permission != "public":
            answer = client.post(path.replace("{username}", "admin").replace("{job_id}", "x"), data={})
            assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2F", path


def test_signing_in_returns_to_the_page_asked_for(fresh: Site) -> None:
    client = fresh.anonymous()
    asked = client.get("/churn?page=2")
    form = client.get(asked.headers["location"])
    assert 'name="next" value="/churn?page=2"' in form.text
    answer = client.post(
        "/login",
        data={"username": "sales", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": "/churn?page=2"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/churn?page=2"
    assert client.get("/churn?page=2").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_signing_in_never_leaves_the_site(fresh: Site, target: str) -> None:
    client = fresh.anonymous()
    form = client.get("/login", params={"next": target})
    answer = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": target}
    )
    assert answer.headers["location"] == "/"


def test_every_form_that_posts_carries_the_sessions_csrf_token(site: Site, clients: dict) -> None:
    client = clients[("admin", "zh")]
    session = site.service.access.get_session(client.cookies.get("custlens_session"))
    seen = 0
    for url in page_urls(site):
        for form in _forms(client.get(url).text).forms:
            if form["method"] == "post":
                seen += 1
                assert form["fields"].get("csrf_token") == session.csrf_token, (url, form["action"])
    assert seen >= 6  # sign-out on every page, the rule builder, the import forms, the user forms


@pytest.fixture(scope="module")
def scratch(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of this module's own, for posts that must change nothing."""
    target = tmp_path_factory.mktemp("web-csrf") / "workspace"
    shutil.copytree(web_template, target)
    built = Site(target)
    yield built
    built.close()


def _post_pages() -> list[str]:
    return [p for (m, p), perm in PAGES.items() if m == "POST" and perm != "public"]


@pytest.mark.parametrize("path", _post_pages())
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_post_without_the_sessions_csrf_token_is_refused(scratch: Site, path: str, token: str | None) -> None:
    fresh = scratch
    client = fresh.signed_in("admin")
    data = {"username": "newcomer", "role": "sales", "password": PASSWORD, "rule": "revenue > 0", "disabled": "true"}
    if token is not None:
        data["csrf_token"] = token
    url = path.replace("{username}", "analyst")
    answer = client.post(url, data=data, files={"file": ("c.csv", b"customer_id\n1\n")} if path == "/imports" else None)
    assert answer.status_code == 403, answer.text[-400:]
    assert "无权访问" in answer.text
    users = {u["username"]: u for u in fresh.service.access.list_users()}
    assert "newcomer" not in users and not users["analyst"]["disabled"]
    assert fresh.service.jobs.list() == []


def test_the_sign_in_form_carries_its_own_token(fresh: Site) -> None:
    client = fresh.anonymous()
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "made-up"})
    assert answer.status_code == 403
    assert "custlens_session" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(("base", "secure"), [("http://testserver", False), ("https://testserver", True)])
def test_the_session_cookie_is_httponly_samesite_and_secure_over_tls(fresh: Site, base: str, secure: bool) -> None:
    client = fresh.anonymous(base_url=base)
    form = client.get("/login")
    answer = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": "/"}
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("custlens_session="))
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert ("secure" in attributes) is secure


def test_a_wrong_password_shows_the_form_again_then_the_rate_limit(fresh: Site) -> None:
    client = fresh.anonymous()
    statuses = []
    for _ in range(6):
        form = client.get("/login", params={"lang": "en"})
        answer = client.post(
            "/login", data={"username": "admin", "password": "not the password", "csrf_token": csrf_of(form.text)}
        )
        statuses.append(answer.status_code)
        assert 'name="password"' in answer.text
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert "Too many failed attempts" in answer.text


def test_signing_out_ends_the_session(fresh: Site) -> None:
    client = fresh.signed_in("marketing")
    page = client.get("/")
    session_id = client.cookies.get("custlens_session")
    answer = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    client.cookies.set("custlens_session", session_id)
    assert client.get("/").status_code == 303  # the old session id no longer opens a page


def test_pages_carry_the_security_headers_and_no_inline_script(site: Site, clients: dict) -> None:
    client = clients[("admin", "en")]
    for url in page_urls(site):
        answer = client.get(url)
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        forms = _forms(answer.text)
        assert forms.scripts and all(s.get("src", "").startswith("/static/") for s in forms.scripts), url
        assert not forms.handlers, f"{url}: inline event handlers {forms.handlers}"


def test_plotly_js_comes_from_the_installed_package(site: Site) -> None:
    client = site.anonymous()
    answer = client.get("/static/vendor/plotly.min.js")
    shipped = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    assert answer.status_code == 200 and answer.content == shipped
    assert answer.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_every_chart_carries_its_figure_for_the_script(site: Site, clients: dict) -> None:
    import html as html_lib
    import json

    client = clients[("admin", "en")]
    charts = 0
    for url in page_urls(site):
        for figure in re.findall(r'data-figure="([^"]*)"', client.get(url).text):
            data = json.loads(html_lib.unescape(figure))
            assert data["data"], url
            assert all(trace["type"] != "scattergl" for trace in data["data"]), url
            charts += 1
    assert charts >= 10


def test_the_rule_builder_counts_what_the_service_counts(site: Site, clients: dict) -> None:
    from custlens.service import count_customers

    client = clients[("marketing", "en")]
    page = client.get("/segments")
    rule = "revenue > 5000 and risk_band in ('low', 'medium')"
    answer = client.post("/segments/rule", data={"rule": rule, "method": "rfm", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200
    user = site.service.access.get_user("marketing")
    expected = count_customers(site.service, user, rule=rule)
    assert f"{expected['customers']:,} of {expected['of']:,} customers" in answer.text
    assert expected["customers"] > 0
    assert answer.text.count('href="/customers/') >= min(expected["customers"], 20)


def test_a_rule_that_does_not_parse_shows_why(site: Site, clients: dict) -> None:
    client = clients[("analyst", "zh")]
    page = client.get("/segments")
    answer = client.post("/segments/rule", data={"rule": "revenue >", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200
    assert "这条规则无法使用" in answer.text and "expected a column, a value" in answer.text
    unknown = client.post("/segments/rule", data={"rule": "revenu > 1", "csrf_token": csrf_of(page.text)})
    assert "did you mean &#39;revenue&#39;" in unknown.text


def _customer_with_consent(site: Site, consent: bool) -> tuple[str, str]:
    c = site.service.table("customers")
    ident = site.service.table("identity")
    j = c.filter(c.consent_marketing == consent).join(ident, "customer_id").select("customer_id")
    known = site.service.analysis().customers().select("customer_id")
    cid = str(j.semi_join(known, "customer_id").order_by("customer_id").limit(1).to_pyarrow()["customer_id"][0])
    plain = read_identity(site.service.workspace, [cid], key=site.service.identity_key(), audit_read=False)
    return cid, str(plain[cid]["name"])


@pytest.mark.parametrize(
    ("role", "sees_consenting", "sees_other"),
    [
        ("admin", True, True),
        ("sales", True, True),
        ("service", True, True),
        ("marketing", True, False),
        ("analyst", False, False),
    ],
)
def test_personal_data_only_where_the_role_may_see_it(
    site: Site, clients: dict, role: str, sees_consenting: bool, sees_other: bool
) -> None:
    client = clients[(role, "en")]
    for consent, sees in ((True, sees_consenting), (False, sees_other)):
        customer, name = _customer_with_consent(site, consent)
        html = client.get(f"/customers/{customer}").text
        assert (name in html) is sees, (role, consent)
    if not sees_other:
        note = "Your role does not see personal data." if role == "analyst" else "consented to marketing"
        assert note in html


def test_the_profile_shows_segments_timeline_and_actions(site: Site, clients: dict) -> None:
    customer = site.one_customer()
    zh = clients[("sales", "zh")].get(f"/customers/{customer}").text
    assert f"客户 {customer}" in zh
    assert "冠军客户" in zh or "忠诚客户" in zh  # the segment in Chinese
    assert zh.count('<tr class="ev-') >= 5  # orders, contacts, invoices
    assert "订单" in zh and "¥" in zh


def test_segment_names_follow_the_language(site: Site, clients: dict) -> None:
    zh = clients[("admin", "zh")].get("/segments", params={"method": "rfm"}).text
    en = clients[("admin", "en")].get("/segments", params={"method": "rfm"}).text
    assert "冠军客户" in zh and ">Champions<" not in zh
    assert ">Champions<" in en and "冠军客户" not in en


def test_lists_page_through_the_whole(site: Site, clients: dict) -> None:
    client = clients[("admin", "en")]
    first = client.get("/segments/members", params={"method": "rfm", "segment": "Potential Loyalist"}).text
    second = client.get("/segments/members", params={"method": "rfm", "segment": "Potential Loyalist", "page": 2}).text
    ids = lambda html: set(re.findall(r'href="/customers/([^"]+)"', html))  # noqa: E731
    assert len(ids(first)) == 50 and ids(second) and not ids(first) & ids(second)
    assert "Page 2 of" in second and 'rel="prev"' in second


def test_the_migration_page_compares_the_two_analyses(site: Site, clients: dict) -> None:
    html = clients[("analyst", "en")].get("/segments/migration", params={"method": "rfm"}).text
    assert 'value="2025-06-30.1" selected' in html
    assert html.count("data-figure=") == 2  # the migration and the relationship-state flow
    assert "not yet a customer" in html or "Champions" in html


def test_a_missing_customer_or_segment_is_a_not_found_page(site: Site, clients: dict) -> None:
    client = clients[("admin", "zh")]
    answer = client.get("/customers/NO-SUCH-ONE")
    assert answer.status_code == 404 and "未找到" in answer.text and "NO-SUCH-ONE" in answer.text
    answer = client.get("/segments/members", params={"method": "rfm", "segment": "Champs"})
    assert answer.status_code == 404 and "did you mean &#39;Champions&#39;" in answer.text
    assert client.get("/no/such/page").status_code == 404
    answer = client.get("/churn", params={"page": 0})
    assert answer.status_code == 422 and "无法执行" in answer.text
