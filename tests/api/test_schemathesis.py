"""Property-based requests from the OpenAPI document (schemathesis): no operation answers 5xx.

The CI budget is small (``CUSTLENS_FUZZ_EXAMPLES``, default 12 examples per operation);
a longer run: ``CUSTLENS_FUZZ_EXAMPLES=500 pytest tests/api/test_schemathesis.py``.
The requests carry an admin token and run on their own copy of the demo workspace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from custlens.api import build_app

from .conftest import Clients, copy_workspace

pytestmark = pytest.mark.xdist_group("api")

EXAMPLES = int(os.environ.get("CUSTLENS_FUZZ_EXAMPLES", "12"))
APP = build_app(extensions=())  # the service is set by the fixture below
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzzed(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    clients = Clients(copy_workspace(demo_template, tmp_path_factory.mktemp("fuzz") / "workspace"))
    # requests are checked and jobs queued as usual, but queued imports and analysis runs do
    # not run: the fuzzer would queue dozens (their own tests run them)
    clients.service.jobs._run = lambda job_id, work: None  # type: ignore[method-assign]
    APP.state.service = clients.service
    yield clients
    APP.state.service = None
    clients.close()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: Any, fuzzed: Clients) -> None:
    if case.path.startswith("/api/v1/users/{username}") and case.path_parameters.get("username") == "admin":
        case.path_parameters["username"] = "someone"  # keep the admin able to sign in for later cases
    if case.path == "/api/v1/tokens/{token_id}":
        case.path_parameters = {"token_id": "000000000000"}  # never revoke the token in use
    case.call_and_validate(headers=fuzzed.headers("admin"), checks=[not_a_server_error])
