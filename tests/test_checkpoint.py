"""Checkpoints: round trips, and a clear error for every corrupted or mismatched file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import window

from lstm_strategies.checkpoint import (
    FORMAT_VERSION,
    load_checkpoint,
    pretrained_names,
    pretrained_path,
    read_card,
)
from lstm_strategies.errors import CheckpointError
from lstm_strategies.features import FEATURE_NAMES
from lstm_strategies.forecasters.lstm import LSTMForecaster, load_pretrained


@pytest.fixture
def ckpt(tmp_path):
    dst = tmp_path / "btc"
    shutil.copytree(pretrained_path("btc-1h"), dst)
    return dst


def test_bundled_models_are_listed_and_small():
    assert {"btc-1h", "eth-1h"} <= set(pretrained_names())
    for name in pretrained_names():
        size = sum(p.stat().st_size for p in pretrained_path(name).iterdir())
        assert size < 100_000


def test_card_records_provenance():
    card = read_card(pretrained_path("btc-1h"))
    assert card.format_version == FORMAT_VERSION
    assert card.feature_names == FEATURE_NAMES
    assert card.timeframe == "1h" and card.horizon == "1D"
    assert card.train_end.startswith("2021-12-31")
    assert len(card.train_fingerprint) == 64
    assert {"lstm_strategies", "torch"} <= set(card.versions)
    assert card.metrics["val_qlike"] < card.metrics["val_qlike_log_har_init"]


def test_save_load_round_trip_gives_identical_forecasts(btc_hourly, ckpt, tmp_path):
    from lstm_strategies.checkpoint import save_checkpoint

    df = window(btc_hourly, "2022-01-01", "2022-02-15")
    original = load_pretrained("btc-1h")
    save_checkpoint(original.model, original.card, tmp_path / "again")
    model, card = load_checkpoint(tmp_path / "again", expected_features=FEATURE_NAMES)
    again = LSTMForecaster(model, card)
    np.testing.assert_array_equal(original.predict_batch(df), again.predict_batch(df))


def test_truncated_weights(ckpt):
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="does not match model.json"):
        load_checkpoint(ckpt)


def test_tampered_weights(ckpt):
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or was modified"):
        load_checkpoint(ckpt)


def test_unreadable_weights_even_with_matching_hash(ckpt):
    (ckpt / "model.safetensors").write_bytes(b"not a safetensors file")
    meta = json.loads((ckpt / "model.json").read_text())
    meta["weights_sha256"] = ""
    (ckpt / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="cannot read safetensors"):
        load_checkpoint(ckpt)


def test_truncated_json(ckpt):
    text = (ckpt / "model.json").read_text()
    (ckpt / "model.json").write_text(text[:100])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(ckpt)


def test_wrong_format_version(ckpt):
    meta = json.loads((ckpt / "model.json").read_text())
    meta["format_version"] = 99
    (ckpt / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(ckpt)


def test_feature_mismatch(ckpt):
    with pytest.raises(CheckpointError, match="caller-only: \\['volume_z'\\]"):
        load_checkpoint(ckpt, expected_features=FEATURE_NAMES[:-1] + ["volume_z"])


def test_architecture_mismatch(ckpt):
    meta = json.loads((ckpt / "model.json").read_text())
    meta["architecture"]["hidden_size"] = 5
    (ckpt / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_checkpoint(ckpt)


def test_missing_files_and_unknown_names(ckpt, tmp_path):
    (ckpt / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights file missing"):
        load_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match="no model.json"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="unknown pretrained model 'btc-5m'"):
        load_pretrained("btc-5m")


def test_no_code_executing_loader_in_the_package():
    """No module imports pickle/joblib or calls torch's pickle-based loader."""
    import ast
    import pathlib

    import lstm_strategies

    root = pathlib.Path(lstm_strategies.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "joblib", "dill", "cloudpickle"} & set(names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load":
                owner = node.func.value
                assert not (isinstance(owner, ast.Name) and owner.id in {"torch", "pickle"}), f"{path}:{node.lineno}"


@pytest.mark.parametrize("name", ["btc-1h", "eth-1h", "spx-1d"])
def test_no_bundled_model_amplifies_rounding_noise(name):
    """Every feature's scale is a real spread: the scaled input weights stay of order one."""
    model = load_pretrained(name).model
    assert (model.feature_std >= 1e-3).all()
    scaled = model.lstm.weight_ih_l0.detach() / model.feature_std
    assert float(scaled.abs().max()) < 1e3


def test_scaler_treats_constant_features_as_constant():
    import torch

    from lstm_strategies.model import VolatilityLSTM

    model = VolatilityLSTM(3, 4, har_index=(0, 1, 2))
    model.set_scaler(torch.tensor([5.0, 0.0, 2.0]), torch.tensor([1e-13, 0.0, 0.5]))
    assert model.feature_std.tolist() == [1.0, 1.0, 0.5]
