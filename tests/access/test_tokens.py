"""API tokens: hashed, remembered while valid, forgotten at once when they end."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from custlens.access import AccessStore
from custlens.errors import AuthenticationError, InputError, NotFoundError


@pytest.fixture()
def store() -> Iterator[AccessStore]:
    con = duckdb.connect()
    s = AccessStore(con)
    s.add_user("ann", "a long enough password", "analyst")
    s.add_user("bob", "a long enough password", "admin")
    yield s
    con.close()


def test_token_stored_hashed_and_remembered(store: AccessStore) -> None:
    token = store.issue_token("ann")
    stored = store._rows("SELECT token_hash FROM access_tokens")
    assert token not in {r[0] for r in stored}
    assert store.authenticate_token(token).username == "ann"
    store._write("UPDATE access_tokens SET last_used_at = NULL")
    assert store.authenticate_token(token).role == "analyst"  # from memory: no write within the minute
    assert store._rows("SELECT last_used_at FROM access_tokens")[0][0] is None


@pytest.mark.parametrize(
    "end",
    [
        lambda s, t: s.revoke_token(t),
        lambda s, t: s.revoke_token_id(s.list_tokens("ann")[0]["token_id"], username="ann"),
        lambda s, t: s.set_disabled("ann", True),
    ],
    ids=["revoke", "revoke by id", "disable"],
)
def test_ended_tokens_are_refused_at_once(store: AccessStore, end) -> None:  # type: ignore[no-untyped-def]
    token = store.issue_token("ann")
    store.authenticate_token(token)
    end(store, token)
    with pytest.raises(AuthenticationError):
        store.authenticate_token(token)


def test_role_change_is_seen_at_once(store: AccessStore) -> None:
    token = store.issue_token("ann")
    assert store.authenticate_token(token).role == "analyst"
    store.set_role("ann", "sales")
    assert store.authenticate_token(token).role == "sales"


def test_revoke_by_id_only_ones_own(store: AccessStore) -> None:
    store.issue_token("bob")
    bobs = store.list_tokens("bob")[0]["token_id"]
    with pytest.raises(NotFoundError, match="of user 'ann'"):
        store.revoke_token_id(bobs, username="ann")
    with pytest.raises(InputError, match="12 characters"):
        store.revoke_token_id(bobs[:5])
    store.revoke_token_id(bobs)
    assert store.list_tokens("bob")[0]["revoked_at"] is not None
