"""The playbook: a suggested action for each segment, read from an editable TOML file.

File format (the shipped default is ``custlens/playbook/defaults/playbook.toml``)::

    version = 1
    [rfm."Champions"]                 # [SCHEME."SEGMENT NAME"]
    name_zh = "冠军客户"              # optional display name
    priority = "top"                  # top | high | medium | low | minimal
    service_level = "Premium ..."     # and service_level_zh
    channel = "Personal contact"      # and channel_zh
    offer = "Early access ..."        # and offer_zh
    note = "..."                      # optional

Schemes are the segmentation method names (``SegmentResult.method``: ``rfm``, ``abc``,
``pyramid``, ``value_matrix``, ``clv_matrix``, ``state`` (relationship state),
``lifecycle`` or your own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from custlens._toml import read_toml
from custlens.errors import ConfigError

__all__ = [
    "PRIORITIES",
    "ACTION_FIELDS",
    "Action",
    "Playbook",
    "load_playbook",
    "default_playbook_path",
    "playbook_from_mapping",
]

PRIORITIES: dict[str, tuple[int, str]] = {
    "top": (1, "最高"),
    "high": (2, "高"),
    "medium": (3, "中"),
    "low": (4, "低"),
    "minimal": (5, "最低"),
}
"""Resource priorities: name -> (rank, 1 = first served; Chinese name)."""

ACTION_FIELDS = ("service_level", "channel", "offer")
"""Text fields every action carries in English and, with suffix ``_zh``, Chinese."""

_REQUIRED = ("priority", *ACTION_FIELDS, *(f"{f}_zh" for f in ACTION_FIELDS))
_OPTIONAL = ("name_zh", "note")

TABLE_COLUMNS = (
    "scheme",
    "segment",
    "segment_zh",
    "priority",
    "priority_rank",
    "priority_zh",
    "service_level",
    "service_level_zh",
    "channel",
    "channel_zh",
    "offer",
    "offer_zh",
)
"""Columns of :meth:`Playbook.table` (one row per segment)."""


@dataclass(frozen=True)
class Action:
    """The suggested action for one segment of one scheme."""

    scheme: str
    segment: str
    priority: str
    service_level: str
    service_level_zh: str
    channel: str
    channel_zh: str
    offer: str
    offer_zh: str
    name_zh: str = ""
    note: str = ""

    @property
    def priority_rank(self) -> int:
        """1 (top) .. 5 (minimal)."""
        return PRIORITIES[self.priority][0]

    @property
    def priority_zh(self) -> str:
        """Chinese name of the priority."""
        return PRIORITIES[self.priority][1]

    def row(self) -> dict[str, Any]:
        """The action as one row of :data:`TABLE_COLUMNS`."""
        return {
            "scheme": self.scheme,
            "segment": self.segment,
            "segment_zh": self.name_zh,
            "priority": self.priority,
            "priority_rank": self.priority_rank,
            "priority_zh": self.priority_zh,
            "service_level": self.service_level,
            "service_level_zh": self.service_level_zh,
            "channel": self.channel,
            "channel_zh": self.channel_zh,
            "offer": self.offer,
            "offer_zh": self.offer_zh,
        }


@dataclass(frozen=True)
class Playbook:
    """Actions by scheme and segment name, in file order."""

    actions: tuple[Action, ...]
    source: str = "<memory>"

    @property
    def schemes(self) -> list[str]:
        """Scheme names, in file order."""
        return list(dict.fromkeys(a.scheme for a in self.actions))

    def segments(self, scheme: str | None = None) -> list[str]:
        """Segment names with an action (of one scheme, or all)."""
        return [a.segment for a in self.actions if scheme is None or a.scheme == scheme]

    def get(self, scheme: str, segment: str) -> Action | None:
        """The action for ``segment`` of ``scheme``, or ``None``."""
        return next((a for a in self.actions if a.scheme == scheme and a.segment == segment), None)

    def check_scheme(self, scheme: str) -> None:
        """Raise :class:`ConfigError` when the playbook has no section ``scheme``."""
        if scheme not in self.schemes:
            from custlens.errors import did_you_mean

            raise ConfigError(
                f"playbook {self.source} has no scheme {scheme!r}"
                f"{did_you_mean(scheme, self.schemes)} (schemes: {', '.join(self.schemes)})"
            )

    def table(self, scheme: str | None = None) -> pa.Table:
        """One row per action with :data:`TABLE_COLUMNS` (one scheme, or all)."""
        if scheme is not None:
            self.check_scheme(scheme)
        rows = [a.row() for a in self.actions if scheme is None or a.scheme == scheme]
        schema = pa.schema([(c, pa.int64() if c == "priority_rank" else pa.string()) for c in TABLE_COLUMNS])
        return pa.Table.from_pylist(rows, schema=schema)


def default_playbook_path() -> Path:
    """Path of the shipped default playbook."""
    return Path(str(resources.files("custlens.playbook") / "defaults" / "playbook.toml"))


def load_playbook(path: str | Path | None = None) -> Playbook:
    """Read and validate a playbook file (``None``: the shipped default).

    Raises
    ------
    ConfigError
        Naming the file, the segment and the field at fault.
    """
    p = default_playbook_path() if path is None else Path(path)
    doc = read_toml(p, "a playbook TOML file")
    return playbook_from_mapping(doc, source=str(p))


def playbook_from_mapping(doc: Mapping[str, Any], source: str = "<memory>") -> Playbook:
    """Validate a parsed playbook document (format in the module docstring)."""
    from custlens.errors import did_you_mean

    version = doc.get("version", 1)
    if version != 1:
        raise ConfigError(f"{source}: unsupported playbook version {version!r}; expected 1")
    actions: list[Action] = []
    for scheme, segments in doc.items():
        if scheme == "version":
            continue
        if not isinstance(segments, Mapping) or not segments:
            raise ConfigError(f'{source}: [{scheme}] must hold one table per segment, e.g. [{scheme}."Segment name"]')
        for segment, spec in segments.items():
            where = f"{source} [{scheme}.{segment!r}]"
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{where}: expected a table of fields ({', '.join(_REQUIRED)})")
            for key in spec:
                if key not in _REQUIRED + _OPTIONAL:
                    raise ConfigError(f"{where}: unknown field {key!r}{did_you_mean(key, _REQUIRED + _OPTIONAL)}")
            for key in _REQUIRED:
                if key not in spec:
                    raise ConfigError(f"{where}: missing field {key!r}")
            for key, value in spec.items():
                if not isinstance(value, str) or (key in _REQUIRED and not value.strip()):
                    raise ConfigError(f"{where}: field {key!r} must be non-empty text; got {value!r}")
            if spec["priority"] not in PRIORITIES:
                raise ConfigError(
                    f"{where}: field 'priority' must be one of {', '.join(PRIORITIES)}; "
                    f"got {spec['priority']!r}{did_you_mean(spec['priority'], PRIORITIES)}"
                )
            actions.append(Action(scheme=scheme, segment=segment, **{k: v.strip() for k, v in spec.items()}))
    if not actions:
        raise ConfigError(f"{source}: the playbook defines no actions")
    return Playbook(tuple(actions), source)
