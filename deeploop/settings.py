"""Run settings kept in a run folder's JSON record, shared by the
experiment and research runs.

A run kind declares a ``Settings`` dataclass deriving from ``RunSettings``
(every field with a finite default, ``validate`` checking the numbers with
``check_number``) and a run folder deriving from ``SettingsRecord`` that names
the record's path and that dataclass. Each invocation merges its flags over
what the record holds, so a continued run keeps what the first one chose.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import ClassVar

from .errors import InputError
from .fileio import atomic_write_json


def check_number(value, flag: str, allow_zero: bool = False, integer: bool = False) -> None:
    """Refuse anything but a finite positive number (or zero with ``allow_zero``);
    ``None`` means "use the default" and passes."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{flag} must be a number, got {value!r}")
    if integer and int(value) != value:
        raise InputError(f"{flag} must be a whole number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        kind = "zero or more" if allow_zero else "a positive number"
        raise InputError(f"{flag} must be {kind}, got {value!r}")


class RunSettings:
    """Mixin for a settings dataclass: merge overrides, read a record leniently."""

    def validate(self):
        return self

    def merged(self, overrides: dict):
        """These settings with every known, non-None override applied, validated."""
        known = {f.name for f in fields(self)}
        values = asdict(self)
        values.update({k: v for k, v in overrides.items() if k in known and v is not None})
        return type(self)(**values).validate()

    @classmethod
    def from_json(cls, data: dict):
        """Settings from a record; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


class SettingsRecord:
    """Mixin for a run folder whose JSON record holds its settings under "settings"."""

    settings_class: ClassVar[type]
    settings_path: Path

    def record(self) -> dict:
        try:
            return json.loads(self.settings_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.settings_path} is not valid JSON ({exc})") from None

    def settings(self):
        return self.settings_class.from_json(self.record().get("settings", {}))

    def save_settings(self, settings) -> None:
        record = self.record()
        record["settings"] = asdict(settings)
        atomic_write_json(self.settings_path, record)
