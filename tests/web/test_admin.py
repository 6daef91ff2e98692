"""The pages that change things: users and roles, imports and analysis runs as background jobs."""

from __future__ import annotations

import re

import pytest

from .conftest import PASSWORD, Site, csrf_of

pytestmark = pytest.mark.xdist_group("web")


def _post(client: object, page: str, url: str, data: dict[str, str], **kwargs: object) -> object:
    token = csrf_of(client.get(page).text)  # type: ignore[attr-defined]
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)  # type: ignore[attr-defined]


def test_an_admin_adds_a_user_changes_the_role_and_password_and_disables_them(fresh: Site) -> None:
    admin = fresh.signed_in("admin", "en")
    answer = _post(admin, "/admin/users", "/admin/users", {"username": "li.wei", "role": "sales", "password": PASSWORD})
    assert answer.status_code == 303
    assert "User li.wei added." in admin.get(answer.headers["location"]).text
    assert fresh.service.access.get_user("li.wei").role == "sales"

    answer = _post(admin, "/admin/users", "/admin/users/li.wei/role", {"role": "marketing"})
    assert answer.status_code == 303 and fresh.service.access.get_user("li.wei").role == "marketing"

    newcomer = fresh.anonymous()
    form = newcomer.get("/login")
    signed = newcomer.post(
        "/login", data={"username": "li.wei", "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    )
    assert signed.status_code == 303 and newcomer.get("/customers").status_code == 200

    answer = _post(admin, "/admin/users", "/admin/users/li.wei/password", {"password": "another long password"})
    assert answer.status_code == 303
    assert newcomer.get("/customers").status_code == 303  # a new password ends the sessions
    fresh.service.access.login("li.wei", "another long password")

    answer = _post(admin, "/admin/users", "/admin/users/li.wei/disabled", {"disabled": "true"})
    assert "li.wei disabled" in admin.get(answer.headers["location"]).text
    row = next(u for u in fresh.service.access.list_users() if u["username"] == "li.wei")
    assert row["disabled"]
    _post(admin, "/admin/users", "/admin/users/li.wei/disabled", {"disabled": "false"})
    row = next(u for u in fresh.service.access.list_users() if u["username"] == "li.wei")
    assert not row["disabled"]


@pytest.mark.parametrize(
    ("url", "data", "status", "says"),
    [
        ("/admin/users", {"username": "x", "role": "sales", "password": "short"}, 422, "at least 10 characters"),
        ("/admin/users", {"username": "sales", "role": "sales", "password": PASSWORD}, 409, "already exists"),
        ("/admin/users", {"username": "bad name!", "role": "sales", "password": PASSWORD}, 422, "is not allowed"),
        ("/admin/users", {"username": "y", "role": "boss", "password": PASSWORD}, 422, "unknown role"),
        ("/admin/users/admin/role", {"role": "sales"}, 409, "last enabled admin"),
        ("/admin/users/nobody/role", {"role": "sales"}, 404, "no user"),
    ],
)
def test_a_refused_change_says_why_on_the_users_page(fresh: Site, url: str, data: dict, status: int, says: str) -> None:
    admin = fresh.signed_in("admin", "zh")
    answer = _post(admin, "/admin/users", url, data)
    assert answer.status_code == status
    assert "未能完成修改" in answer.text and says in answer.text
    assert "用户与角色" in answer.text  # the list again, with the refusal


def _customers_csv(rows: int, bad: int) -> bytes:
    lines = ["customer_id,customer_type,region,created_at"]
    for i in range(rows):
        day = "not a date" if i < bad else f"2025-0{1 + i % 9}-1{i % 10}"
        lines.append(f"N{i:05d},personal,east_china,{day}")
    return ("\n".join(lines) + "\n").encode()


def test_an_import_runs_as_a_job_with_its_report_and_quarantine(fresh: Site) -> None:
    analyst = fresh.signed_in("analyst", "en")
    form = analyst.get("/imports")
    assert 'enctype="multipart/form-data"' in form.text
    answer = analyst.post(
        "/imports",
        data={"table": "customers", "on_repeat": "skip", "csrf_token": csrf_of(form.text)},
        files={"file": ("new-customers.csv", _customers_csv(200, 1), "text/csv")},
    )
    assert answer.status_code == 303
    job_url = answer.headers["location"]
    job_id = job_url.rsplit("/", 1)[1]
    fresh.service.jobs.wait(job_id, timeout=60)
    page = analyst.get(job_url).text
    assert 'data-done="true"' in page and "http-equiv" not in page
    assert re.search(r"rows loaded</dt><dd>199<", page)
    assert "Quarantine: the first 1 rejected values" in page and "not a date" in page
    assert job_id in analyst.get("/imports").text


def test_an_import_that_rejects_too_much_fails_and_says_why(fresh: Site) -> None:
    admin = fresh.signed_in("admin", "zh")
    form = admin.get("/imports")
    answer = admin.post(
        "/imports",
        data={"table": "customers", "csrf_token": csrf_of(form.text)},
        files={"file": ("broken.csv", _customers_csv(20, 20), "text/csv")},
    )
    job_id = answer.headers["location"].rsplit("/", 1)[1]
    fresh.service.jobs.wait(job_id, timeout=60)
    page = admin.get(answer.headers["location"]).text
    assert "任务失败" in page and "rejected_import" in page and "nothing was imported" in page


def test_a_file_of_the_wrong_kind_is_refused_before_any_job(fresh: Site) -> None:
    admin = fresh.signed_in("admin", "en")
    form = admin.get("/imports")
    answer = admin.post(
        "/imports",
        data={"table": "customers", "csrf_token": csrf_of(form.text)},
        files={"file": ("notes.docx", b"hello", "application/octet-stream")},
    )
    assert answer.status_code == 422 and "Cannot do this" in answer.text and ".docx" in answer.text
    assert fresh.service.jobs.list() == []


def test_a_running_job_page_refreshes_itself_until_done(fresh: Site) -> None:
    admin = fresh.signed_in("admin", "en")
    answer = _post(admin, "/imports", "/imports/analysis", {"as_of": "2025-09-30"})
    job_url = answer.headers["location"]
    first = admin.get(job_url).text
    if 'data-done="false"' in first:  # usually: the analysis takes a few seconds
        assert '<meta http-equiv="refresh" content="3">' in first and "<progress" in first
    fresh.service.jobs.wait(job_url.rsplit("/", 1)[1], timeout=120)
    done = admin.get(job_url).text
    assert 'data-done="true"' in done and "Open the overview of analysis 2025-09-30.1" in done
    assert "2025-09-30.1" in admin.get("/segments/migration").text


def test_only_admins_manage_users_and_only_importers_import(fresh: Site) -> None:
    sales = fresh.signed_in("sales", "en")
    assert sales.get("/admin/users").status_code == 403
    assert sales.get("/imports").status_code == 403
    token = csrf_of(sales.get("/").text)
    refused = sales.post(
        "/admin/users", data={"username": "z", "role": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 403 and "z" not in {u["username"] for u in fresh.service.access.list_users()}
    marketing = fresh.signed_in("marketing", "en")
    token = csrf_of(marketing.get("/").text)
    assert marketing.post("/imports/analysis", data={"csrf_token": token}).status_code == 403
