"""docs/CONFIG.md: every config key, generated from the schema, never stale."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from lstm_strategies.backtest.config import ConfigFile
from lstm_strategies.backtest.reference import reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "CONFIG.md"


def test_docs_config_md_is_what_the_schema_generates():
    assert DOC.read_text() == reference(), (
        "docs/CONFIG.md is stale: regenerate it with `python -m lstm_strategies.backtest.reference > docs/CONFIG.md`")


def test_every_key_of_every_table_has_a_description():
    missing = []
    for name, field in ConfigFile.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            missing += [f"[{name}] {key}" for key, f in model.model_fields.items() if not f.description]
        elif not field.description:
            missing.append(name)
    assert not missing, f"config keys without a description (Field(description=...)): {missing}"


def test_the_reference_documents_data_file_report_and_every_strategy_and_forecaster():
    from lstm_strategies.strategies.registry import STRATEGIES

    from lstm_strategies.forecasters.registry import forecaster_names

    text = reference()
    assert "| `file` | text |" in text and "## `[report]`" in text and "| `tearsheet` | true / false | true |" in text
    assert "| `commission` | number | 0.001 | in [0, 0.1) |" in text
    assert "| `calendar` | text | \"crypto\" | one of crypto, equity |" in text
    STRATEGIES.load()
    assert all(f"### `{name}`" in text for name in STRATEGIES)
    assert all(f"| `{name}` |" in text for name in forecaster_names())
    assert "| `target_vol` | number | 0.4 | in (0, 5] |" in text
