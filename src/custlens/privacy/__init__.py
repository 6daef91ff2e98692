"""Personal data: field encryption and blind index, keys, consent, erasure, retention, audit.

Personal data lives only in the ``identity`` table, each field encrypted with AES-256-GCM
under a key kept outside the workspace (:func:`create_key`, :func:`rotate_key`). Reading it
back goes through :func:`read_identity`; exact look-up of a phone or e-mail through the
blind index (:func:`find_customers`). The rights of the people it describes are one
function each: :func:`erase`, :func:`export_person` (access), :func:`correct`; storage
periods are enforced by :func:`apply_retention`; consent by :func:`contact_list`. Every
such act is written to the hash-chained audit log (:mod:`custlens.privacy.audit`).

Names are imported on first use (PEP 562).
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from custlens.privacy import audit
    from custlens.privacy._consent import contact_list, with_consent
    from custlens.privacy._identity import PERSONAL_FIELDS, find_customers, read_identity
    from custlens.privacy._keys import ENV_KEY_FILE, KeyRing, create_key_file, read_key_file, workspace_key
    from custlens.privacy._retention import RetentionReport, apply_retention, retention_periods
    from custlens.privacy._rights import ErasureReport, correct, erase, export_person
    from custlens.privacy._rotate import create_key, init_workspace, rotate_key

_EXPORTS = {
    "audit": "custlens.privacy.audit",
    "PERSONAL_FIELDS": "custlens.privacy._identity",
    "read_identity": "custlens.privacy._identity",
    "find_customers": "custlens.privacy._identity",
    "ENV_KEY_FILE": "custlens.privacy._keys",
    "KeyRing": "custlens.privacy._keys",
    "create_key_file": "custlens.privacy._keys",
    "read_key_file": "custlens.privacy._keys",
    "workspace_key": "custlens.privacy._keys",
    "create_key": "custlens.privacy._rotate",
    "init_workspace": "custlens.privacy._rotate",
    "rotate_key": "custlens.privacy._rotate",
    "erase": "custlens.privacy._rights",
    "export_person": "custlens.privacy._rights",
    "correct": "custlens.privacy._rights",
    "ErasureReport": "custlens.privacy._rights",
    "apply_retention": "custlens.privacy._retention",
    "retention_periods": "custlens.privacy._retention",
    "RetentionReport": "custlens.privacy._retention",
    "contact_list": "custlens.privacy._consent",
    "with_consent": "custlens.privacy._consent",
}

__all__ = [
    "audit",
    "PERSONAL_FIELDS",
    "read_identity",
    "find_customers",
    "ENV_KEY_FILE",
    "KeyRing",
    "create_key_file",
    "read_key_file",
    "workspace_key",
    "create_key",
    "init_workspace",
    "rotate_key",
    "erase",
    "export_person",
    "correct",
    "ErasureReport",
    "apply_retention",
    "retention_periods",
    "RetentionReport",
    "contact_list",
    "with_consent",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'custlens.privacy' has no attribute {name!r}")
    value = (
        _importlib.import_module(module) if module.endswith(name) else getattr(_importlib.import_module(module), name)
    )
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
