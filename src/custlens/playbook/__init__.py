"""The playbook: suggested actions (service level, channel, resource priority, offer) per segment.

An editable TOML file maps segment names to actions in English and Chinese; a default
covering every shipped segmentation comes with custlens. See ``docs/playbook.md``.
"""

from __future__ import annotations

from custlens.playbook._apply import CAMPAIGN_COLUMNS, apply_playbook, export_campaign, missing_actions
from custlens.playbook._model import (
    ACTION_FIELDS,
    PRIORITIES,
    Action,
    Playbook,
    default_playbook_path,
    load_playbook,
    playbook_from_mapping,
)

__all__ = [
    "ACTION_FIELDS",
    "Action",
    "CAMPAIGN_COLUMNS",
    "PRIORITIES",
    "Playbook",
    "apply_playbook",
    "default_playbook_path",
    "export_campaign",
    "load_playbook",
    "missing_actions",
    "playbook_from_mapping",
]
