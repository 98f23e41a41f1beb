"""The settings document themselves: the docs' settings table is built from these descriptions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from threaddesk.config import Settings

HOOK = Path(__file__).resolve().parents[1] / "docs" / "hooks" / "settings_table.py"


def _hook():
    spec = importlib.util.spec_from_file_location("settings_table", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_has_a_description(name: str) -> None:
    description = Settings.model_fields[name].description
    assert description and description.strip(), (
        f"Settings.{name} needs description= (it is the documentation)"
    )


def test_the_docs_table_has_one_row_per_setting_with_its_env_var() -> None:
    table = _hook().settings_table().splitlines()
    rows = table[2:]
    assert len(rows) == len(Settings.model_fields)
    for row, (name, field) in zip(rows, Settings.model_fields.items(), strict=True):
        assert row.startswith(f"| `THREADDESK_{name.upper()}` |")
        assert " ".join(field.description.split()) in row.replace("\\|", "|")


def test_the_docs_page_keeps_the_marker_the_hook_replaces() -> None:
    page = HOOK.parents[1] / "configuration.md"
    assert _hook().MARKER in page.read_text(encoding="utf-8")
