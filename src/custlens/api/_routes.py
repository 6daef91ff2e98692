"""Routes under ``/api/v1/``: a few lines each, one library call each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from custlens.access import User
from custlens.api._security import current_user, secured

__all__ = ["router"]

router = APIRouter()


class Credentials(BaseModel):
    """A user name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Token(BaseModel):
    """A bearer token for ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: str = "bearer"


class Health(BaseModel):
    """The service is up."""

    status: str
    version: str


def _service(request: Request) -> Any:
    return request.app.state.service


@router.get("/healthz", response_model=Health, tags=["service"])
def healthz() -> Health:
    """Liveness: the process answers (no authentication)."""
    from custlens import __version__

    return Health(status="ok", version=__version__)


@router.post(
    "/api/v1/token",
    response_model=Token,
    tags=["auth"],
    responses={401: {"description": "wrong user name or password"}, 429: {"description": "too many attempts"}},
)
def token(credentials: Credentials, request: Request) -> Token:
    """Exchange a user name and password for a bearer token (rate-limited, with lock-out)."""
    service = _service(request)
    client = request.client.host if request.client else "unknown"
    user = service.access.login(credentials.username, credentials.password, client)
    return Token(access_token=service.access.issue_token(user.username, name="api login"))


@router.get("/api/v1/me", tags=["auth"], openapi_extra={"x-permission": "authenticated"})
def me(user: User = Depends(current_user)) -> dict[str, Any]:
    """The caller's user name, role and permissions."""
    from custlens.access import permissions_of

    return {"username": user.username, "role": user.role, "permissions": sorted(permissions_of(user.role))}


@secured(router, "GET", "/api/v1/customers/{customer_id}", "customers:read", tags=["customers"])
def customer(customer_id: str, request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    """One customer's profile: attributes, indicators, segments, CLV, P(alive), churn, actions, timeline.

    ``identity`` (personal data) is present only where the role may see it.
    """
    from custlens.service import customer_profile

    return customer_profile(_service(request), user, customer_id)
