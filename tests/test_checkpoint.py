"""Checkpoints: round trips, and a clear error for every corrupted, edited or mismatched folder.

The sealed folders under test are written here by ``save_checkpoint`` from small, freshly built
networks, so these tests do not depend on the format of the bundled files; the tests of the
bundled models run on a copy (resealed first when it is still in the unsealed format 2).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import window
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from lstm_strategies.core.errors import CheckpointError
from lstm_strategies.features.realized import FEATURE_NAMES
from lstm_strategies.models.checkpoint import (
    FORMAT_VERSION,
    ModelCard,
    load_checkpoint,
    pretrained_names,
    pretrained_path,
    read_card,
    reseal,
    save_checkpoint,
)
from lstm_strategies.models.lstm import LSTMForecaster, load_pretrained
from lstm_strategies.models.network import VolatilityLSTM, merge_ensemble, relative_form

WEIGHTS, CARD = "model.safetensors", "model.json"


# --------------------------------------------------------------------------------------------
# Sealed folders built here
# --------------------------------------------------------------------------------------------

def small_network(seed: int, hidden: int = 4) -> VolatilityLSTM:
    """A single-layer network with non-trivial weights (no training needed for a format test)."""
    torch.manual_seed(seed)
    n = len(FEATURE_NAMES)
    model = VolatilityLSTM(n, hidden, 1, 0.0, (0, 1, 2), 3, relative=True)
    model.set_input_map(torch.tensor(relative_form(FEATURE_NAMES), dtype=torch.float32))
    model.set_scaler(torch.linspace(-1.0, 1.0, n), torch.linspace(0.5, 2.0, n))
    model.set_har(torch.tensor([[0.3, 0.3, 0.3]] * 3), torch.tensor([-0.5, 0.5, 1.5]))
    with torch.no_grad():
        model.correction.weight.normal_(0.0, 0.1)
        model.correction.bias.normal_(0.0, 0.1)
    return model.eval()


def small_card(**changes) -> ModelCard:
    fields = dict(architecture={}, feature_names=list(FEATURE_NAMES), timeframe="1h", horizons=[1, 7, 30], window=12,
                  calendar="crypto", train_start="2020-01-01 00:00:00+00:00",
                  train_end="2021-01-31 23:59:59.999999999+00:00",
                  train_fingerprint=hashlib.sha256(b"rows").hexdigest(), source="btc_usdt_1h",
                  metrics={"val_qlike": 0.51, "val_qlike_log_har_init": 0.53, "val_start": "2020-12-01"},
                  training={"seed": 0, "window": 12, "hidden_size": 4})
    return ModelCard(**(fields | changes))


#: the optional blocks of a pooled model's card (the sealed ``btc`` folder carries them)
HEAD_PRIOR = {"a": [0.1, 2.1, 3.6], "b": [[0.3, 0.4, 0.1], [0.2, 0.3, 0.1], [0.1, 0.1, 0.1]],
              "k_days": [1000.0, 240.0, 480.0], "min_train_days": 31, "refit_every_days": 30, "min_own_days": 7.0,
              "coins": ["btc_usdt_1h", "eth_usdt_1h"], "rows": 50000}
PRETRAINING = {"coins": ["btc_usdt_1h", "eth_usdt_1h"], "rows": {"btc_usdt_1h": {"train": 10, "val": 5},
                                                                 "eth_usdt_1h": {"train": 10, "val": 5}},
               "member_correction_bias": [[0.01, 0.02, 0.03], [0.0, -0.01, 0.02]]}


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> dict[str, Path]:
    """Two sealed folders: ``btc`` (a merged ensemble of two members) and ``eth`` (a single network)."""
    root = tmp_path_factory.mktemp("sealed")
    btc = merge_ensemble([small_network(0), small_network(1)])
    eth = small_network(2, hidden=6)
    return {"btc": save_checkpoint(btc, small_card(head_prior=HEAD_PRIOR, pretraining=PRETRAINING), root / "btc"),
            "eth": save_checkpoint(eth, small_card(source="eth_usdt_1h"), root / "eth")}


@pytest.fixture
def ckpt(sealed, tmp_path) -> Path:
    """A fresh copy of the sealed ``btc`` folder, free to corrupt."""
    return Path(shutil.copytree(sealed["btc"], tmp_path / "btc"))


# --------------------------------------------------------------------------------------------
# Bundled models (a copy, resealed when still in format 2; format 1 folders are being retrained)
# --------------------------------------------------------------------------------------------

def bundled(name: str, tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(pretrained_path(name), tmp_path / name))
    version = json.loads((folder / CARD).read_text()).get("format_version")
    if version == 2:
        reseal(folder)
    elif version != FORMAT_VERSION:
        pytest.skip(f"bundled model {name} is in format {version} (being retrained)")
    return folder


def test_bundled_models_are_listed_and_small():
    assert {"btc-1h", "eth-1h"} <= set(pretrained_names())
    for name in pretrained_names():
        size = sum(p.stat().st_size for p in pretrained_path(name).iterdir())
        assert size < 100_000


def test_bundled_card_records_provenance(tmp_path):
    card = read_card(bundled("btc-1h", tmp_path))
    assert card.format_version == FORMAT_VERSION
    assert card.feature_names == FEATURE_NAMES
    assert card.timeframe == "1h" and card.horizons == [1, 7, 30] and card.calendar == "crypto"
    assert card.train_end.startswith("2021-12-31")
    assert len(card.train_fingerprint) == 64
    assert {"lstm_strategies", "torch"} <= set(card.versions)
    assert card.metrics["val_qlike"] < card.metrics["val_qlike_log_har_init"]


def test_bundled_save_load_round_trip_gives_identical_forecasts(btc_hourly, tmp_path):
    df = window(btc_hourly, "2022-01-01", "2022-02-15")
    original = load_pretrained(bundled("btc-1h", tmp_path))
    save_checkpoint(original.network, original.card, tmp_path / "again")
    model, card = load_checkpoint(tmp_path / "again", expected_features=FEATURE_NAMES)
    again = LSTMForecaster.from_network(model, card)
    np.testing.assert_array_equal(original.predict_batch(df), again.predict_batch(df))


@pytest.mark.parametrize("name", ["btc-1h", "eth-1h", "spx-1d", "crypto-1h"])
def test_no_bundled_model_amplifies_rounding_noise(name, tmp_path):
    """Every feature's scale is a real spread: the scaled input weights stay of order one."""
    net = load_pretrained(bundled(name, tmp_path)).network
    assert (net.feature_std >= 1e-3).all()
    scaled = net.lstm.weight_ih_l0.detach() / net.feature_std
    assert float(scaled.abs().max()) < 1e3


# --------------------------------------------------------------------------------------------
# Good folders
# --------------------------------------------------------------------------------------------

def test_save_load_round_trip_gives_identical_forecasts(btc_hourly, sealed, tmp_path):
    df = window(btc_hourly, "2021-03-01", "2021-05-01")
    model, card = load_checkpoint(sealed["btc"], expected_features=FEATURE_NAMES)
    first = LSTMForecaster.from_network(model, card, head="frozen").predict_batch(df)
    assert np.isfinite(first[-100:]).all()
    save_checkpoint(model, card, tmp_path / "again")
    model2, card2 = load_checkpoint(tmp_path / "again", expected_features=FEATURE_NAMES)
    np.testing.assert_array_equal(first, LSTMForecaster.from_network(model2, card2, head="frozen").predict_batch(df))
    assert (tmp_path / "again" / WEIGHTS).read_bytes() == (sealed["btc"] / WEIGHTS).read_bytes()
    assert card2 == card


def test_card_is_complete_and_sealed(sealed):
    card = read_card(sealed["btc"])
    assert card.format_version == FORMAT_VERSION == 3
    assert card.architecture["ensemble_members"] == 2 and card.architecture["hidden_size"] == 8
    assert card.horizons == [1, 7, 30] and card.window == 12 and card.feature_names == FEATURE_NAMES
    assert card.weights_sha256 == hashlib.sha256((sealed["btc"] / WEIGHTS).read_bytes()).hexdigest()
    # the seal, computed independently: canonical JSON of the card without weights_sha256
    raw = json.loads((sealed["btc"] / CARD).read_text())
    body = json.dumps({k: v for k, v in raw.items() if k != "weights_sha256"}, sort_keys=True, separators=(",", ":"))
    with safe_open(str(sealed["btc"] / WEIGHTS), "pt") as handle:
        meta = handle.metadata()
    assert meta["card_sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert meta["format"] == "pt"


def test_reformatted_card_still_loads(ckpt):
    """Whitespace and key order are not edits: the seal covers the canonical JSON."""
    raw = json.loads((ckpt / CARD).read_text())
    (ckpt / CARD).write_text(json.dumps(dict(reversed(list(raw.items())))))
    load_checkpoint(ckpt, expected_features=FEATURE_NAMES)


def test_weights_are_written_before_the_card(tmp_path, monkeypatch):
    import lstm_strategies.models.checkpoint as ck

    order = []
    real = ck.atomic_write
    monkeypatch.setattr(ck, "atomic_write", lambda path, write: order.append(Path(path).name) or real(path, write))
    save_checkpoint(small_network(0), small_card(), tmp_path / "m")
    assert order == [WEIGHTS, CARD]


def test_save_refuses_a_card_or_model_it_could_not_load(tmp_path):
    with pytest.raises(CheckpointError, match="'horizons'"):
        save_checkpoint(small_network(0), small_card(horizons=[1, 7]), tmp_path / "a")
    with pytest.raises(CheckpointError, match="'calendar'"):
        save_checkpoint(small_network(0), small_card(calendar="forex"), tmp_path / "b")
    nan = small_network(0)
    with torch.no_grad():
        nan.har.bias[0] = float("nan")
    with pytest.raises(CheckpointError, match="'har.bias'"):
        save_checkpoint(nan, small_card(), tmp_path / "c")
    assert not any((tmp_path / d / f).exists() for d in "abc" for f in (WEIGHTS, CARD))


def test_feature_mismatch(ckpt):
    with pytest.raises(CheckpointError, match="caller-only: \\['volume_z'\\]"):
        load_checkpoint(ckpt, expected_features=FEATURE_NAMES[:-1] + ["volume_z"])


def test_unknown_bundled_name():
    with pytest.raises(CheckpointError, match="unknown pretrained model 'btc-5m'"):
        load_pretrained("btc-5m")


def test_forecaster_surfaces_the_edit(ckpt):
    edit(ckpt, lambda c: c.update(window=24))
    with pytest.raises(CheckpointError, match="edited after training"):
        LSTMForecaster(ckpt)


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


def test_scaler_treats_constant_features_as_constant():
    model = VolatilityLSTM(3, 4, har_index=(0, 1, 2))
    model.set_scaler(torch.tensor([5.0, 0.0, 2.0]), torch.tensor([1e-13, 0.0, 0.5]))
    assert model.feature_std.tolist() == [1.0, 1.0, 0.5]


# --------------------------------------------------------------------------------------------
# Tampering tools
# --------------------------------------------------------------------------------------------

def edit(folder: Path, change) -> None:
    """Apply ``change(card_dict)`` to model.json and write it back as save_checkpoint does."""
    raw = json.loads((folder / CARD).read_text())
    change(raw)
    (folder / CARD).write_text(json.dumps(raw, indent=2, sort_keys=True))


def set_field(dotted: str, value):
    def change(raw):
        *parents, last = dotted.split(".")
        target = raw
        for p in parents:
            target = target[p]
        target[last] = value
    return lambda folder, other: edit(folder, change)


def drop_field(dotted: str):
    def change(raw):
        *parents, last = dotted.split(".")
        target = raw
        for p in parents:
            target = target[p]
        del target[last]
    return lambda folder, other: edit(folder, change)


def rehash(folder: Path) -> None:
    """Make the card's weights_sha256 match whatever the weights file now is (an attacker's fix-up)."""
    edit(folder, lambda c: c.update(weights_sha256=hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()))


def resave(folder: Path, change_state=None, seal: bool = True, metadata: dict | None = None) -> None:
    """Re-save the weights (optionally changed), with a forged valid seal or none, and fix up the hash."""
    state = load_file(str(folder / WEIGHTS))
    if change_state:
        change_state(state)
    if metadata is None and seal:
        raw = json.loads((folder / CARD).read_text())
        body = json.dumps({k: v for k, v in raw.items() if k != "weights_sha256"}, sort_keys=True,
                          separators=(",", ":"))
        metadata = {"format": "pt", "card_sha256": hashlib.sha256(body.encode()).hexdigest()}
    save_file(state, str(folder / WEIGHTS), metadata=metadata)
    rehash(folder)


def test_a_forged_seal_of_an_untouched_model_loads(ckpt):
    """Control for the battery: resave() itself makes a loadable folder, so what fails below is the change."""
    resave(ckpt)
    load_checkpoint(ckpt, expected_features=FEATURE_NAMES)


def write_bytes(name: str, data: bytes):
    return lambda folder, other: (folder / name).write_bytes(data)


def flip(offset: int):
    def corrupt(folder, other):
        data = bytearray((folder / WEIGHTS).read_bytes())
        data[offset] ^= 0x01
        (folder / WEIGHTS).write_bytes(bytes(data))
    return corrupt


def truncate(folder, other):
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])


def set_tensor(name: str, fn):
    def change(state):
        state[name] = fn(state[name].clone())
    return lambda folder, other: resave(folder, change)


def poison(value: float, seal: bool):
    def change(state):
        state["lstm.weight_hh_l0"] = state["lstm.weight_hh_l0"].clone()
        state["lstm.weight_hh_l0"][0, 0] = value
    return lambda folder, other: resave(folder, change, seal=seal)


def swap_cards(folder, other):
    mine, theirs = (folder / CARD).read_bytes(), (other / CARD).read_bytes()
    (folder / CARD).write_bytes(theirs)
    (other / CARD).write_bytes(mine)


def other_card_with_my_hash(folder, other):
    mine = json.loads((folder / CARD).read_text())["weights_sha256"]
    shutil.copy(other / CARD, folder / CARD)
    edit(folder, lambda c: c.update(weights_sha256=mine))


def other_weights(rehashed: bool):
    def corrupt(folder, other):
        shutil.copy(other / WEIGHTS, folder / WEIGHTS)
        if rehashed:
            rehash(folder)
    return corrupt


def remove(name: str):
    return lambda folder, other: (folder / name).unlink()


SEALED_FIELDS = ["architecture", "feature_names", "timeframe", "horizons", "window", "calendar", "train_start",
                 "train_end", "train_fingerprint", "source", "metrics", "training", "versions", "format_version",
                 "weights_sha256"]
ARCH_FIELDS = ["n_features", "hidden_size", "num_layers", "dropout", "har_index", "n_horizons", "relative"]
EDITED = "card was edited after training"


def field(name: str) -> str:
    return re.escape(f"'{name}'")


def swapped_features(c):
    names = c["feature_names"]
    names[4], names[5] = names[5], names[4]


# (id, corruption(folder, other_folder), what the message must say)
TAMPERS = [
    # the weights file
    ("weights-truncated", truncate, field("weights_sha256")),
    ("weights-bit-flipped-in-data", flip(-5), field("weights_sha256")),
    ("weights-bit-flipped-in-header", flip(20), field("weights_sha256")),
    ("weights-empty", write_bytes(WEIGHTS, b""), field("weights_sha256")),
    ("weights-missing", remove(WEIGHTS), "model.safetensors: weights file missing"),
    ("weights-garbage-rehashed", lambda f, o: (write_bytes(WEIGHTS, b"not safetensors")(f, o), rehash(f)),
     "model.safetensors: cannot read the safetensors header"),
    ("weights-of-other-model", other_weights(rehashed=False), field("weights_sha256")),
    ("weights-of-other-model-rehashed", other_weights(rehashed=True), EDITED),
    # weights_sha256
    ("weights_sha256-missing", drop_field("weights_sha256"), "'weights_sha256' is missing"),
    ("weights_sha256-empty", set_field("weights_sha256", ""), field("weights_sha256")),
    ("weights_sha256-short", set_field("weights_sha256", "ab" * 16), field("weights_sha256")),
    ("weights_sha256-uppercase", lambda f, o: edit(f, lambda c: c.update(weights_sha256=c["weights_sha256"].upper())),
     field("weights_sha256")),
    ("weights_sha256-int", set_field("weights_sha256", 12345), field("weights_sha256")),
    ("weights_sha256-null", set_field("weights_sha256", None), field("weights_sha256")),
    # the JSON itself
    ("json-truncated", lambda f, o: (f / CARD).write_text((f / CARD).read_text()[:100]), "model.json: not valid JSON"),
    ("json-empty", write_bytes(CARD, b""), "model.json: not valid JSON"),
    ("json-binary", write_bytes(CARD, bytes(range(256))), "model.json: not valid JSON"),
    ("json-list", write_bytes(CARD, b"[1, 2, 3]"), "model.json: holds a JSON array, not an object"),
    ("json-null", write_bytes(CARD, b"null"), "model.json: holds a JSON null, not an object"),
    ("json-duplicate-key", lambda f, o: (f / CARD).write_text((f / CARD).read_text()[:-2] + ',\n  "window": 48\n}'),
     "duplicate key"),
    ("json-missing", remove(CARD), "model.json; a checkpoint folder"),
    # format_version
    ("format_version-2", set_field("format_version", 2), field("format_version") + ".*reseal"),
    ("format_version-99", set_field("format_version", 99), "checkpoint format version 99"),
    ("format_version-str", set_field("format_version", "3"), field("format_version")),
    ("format_version-float", set_field("format_version", 3.0), field("format_version")),
    ("format_version-bool", set_field("format_version", True), field("format_version")),
    # every field removed
    *[(f"{name}-removed", drop_field(name), f"'{name}' is missing") for name in SEALED_FIELDS],
    *[(f"architecture.{name}-removed", drop_field(f"architecture.{name}"), f"'architecture.{name}' is missing")
      for name in ARCH_FIELDS],
    # wrong types
    ("architecture-str", set_field("architecture", "lstm"), field("architecture")),
    ("architecture-list", set_field("architecture", []), field("architecture")),
    ("n_features-str", set_field("architecture.n_features", "10"), field("architecture.n_features")),
    ("hidden_size-float", set_field("architecture.hidden_size", 8.0), field("architecture.hidden_size")),
    ("num_layers-bool", set_field("architecture.num_layers", True), field("architecture.num_layers")),
    ("dropout-str", set_field("architecture.dropout", "0"), field("architecture.dropout")),
    ("har_index-str", set_field("architecture.har_index", "012"), field("architecture.har_index")),
    ("har_index-item-str", set_field("architecture.har_index", [0, 1, "2"]), field("architecture.har_index[2]")),
    ("n_horizons-float", set_field("architecture.n_horizons", 3.0), field("architecture.n_horizons")),
    ("relative-int", set_field("architecture.relative", 1), field("architecture.relative")),
    ("ensemble_members-str", set_field("architecture.ensemble_members", "2"), field("architecture.ensemble_members")),
    ("feature_names-str", set_field("feature_names", "log_rv_day"), field("feature_names")),
    ("feature_names-int-item", set_field("feature_names", [1] * 10), field("feature_names[0]")),
    ("timeframe-int", set_field("timeframe", 1), field("timeframe")),
    ("horizons-str", set_field("horizons", "1,7,30"), field("horizons")),
    ("horizons-float-item", set_field("horizons", [1.0, 7, 30]), field("horizons[0]")),
    ("horizons-bool-item", set_field("horizons", [True, 7, 30]), field("horizons[0]")),
    ("window-str", set_field("window", "12"), field("window")),
    ("window-float", set_field("window", 12.5), field("window")),
    ("window-bool", set_field("window", True), field("window")),
    ("calendar-int", set_field("calendar", 1), field("calendar")),
    ("train_start-int", set_field("train_start", 2020), field("train_start")),
    ("train_end-null", set_field("train_end", None), field("train_end")),
    ("train_fingerprint-int", set_field("train_fingerprint", 0), field("train_fingerprint")),
    ("source-null", set_field("source", None), field("source")),
    ("metrics-list", set_field("metrics", []), field("metrics")),
    ("training-str", set_field("training", "x"), field("training")),
    ("versions-list", set_field("versions", []), field("versions")),
    ("versions-int-value", set_field("versions.torch", 2), field("versions.torch")),
    # out of range or inconsistent
    ("n_features-0", set_field("architecture.n_features", 0), field("architecture.n_features")),
    ("n_features-not-len-features", set_field("architecture.n_features", 9), field("architecture.n_features")),
    ("hidden_size-0", set_field("architecture.hidden_size", 0), field("architecture.hidden_size")),
    ("hidden_size-negative", set_field("architecture.hidden_size", -8), field("architecture.hidden_size")),
    ("hidden_size-not-members-times-member", set_field("architecture.hidden_size", 10),
     field("architecture.hidden_size")),
    ("num_layers-0", set_field("architecture.num_layers", 0), field("architecture.num_layers")),
    ("num_layers-2-in-ensemble", set_field("architecture.num_layers", 2), field("architecture.hidden_size")),
    ("dropout-1", set_field("architecture.dropout", 1.0), field("architecture.dropout")),
    ("dropout-negative", set_field("architecture.dropout", -0.1), field("architecture.dropout")),
    ("dropout-nan", set_field("architecture.dropout", float("nan")), field("architecture.dropout")),
    ("har_index-empty", set_field("architecture.har_index", []), field("architecture.har_index")),
    ("har_index-out-of-range", set_field("architecture.har_index", [0, 1, 99]), field("architecture.har_index")),
    ("har_index-repeated", set_field("architecture.har_index", [0, 0, 1]), field("architecture.har_index")),
    ("har_index-negative", set_field("architecture.har_index", [-1, 1, 2]), field("architecture.har_index[0]")),
    ("n_horizons-0", set_field("architecture.n_horizons", 0), field("architecture.n_horizons")),
    ("n_horizons-not-len-horizons", set_field("architecture.n_horizons", 2), field("horizons")),
    ("ensemble_members-1", set_field("architecture.ensemble_members", 1), field("architecture.ensemble_members")),
    ("ensemble-half-recorded", drop_field("architecture.member_hidden_size"), field("architecture.ensemble_members")),
    ("feature_names-empty", set_field("feature_names", []), field("feature_names")),
    ("feature_names-repeated", set_field("feature_names", ["ret"] * 10), field("feature_names")),
    ("feature_names-blank", set_field("feature_names", [""] + FEATURE_NAMES[1:]), field("feature_names[0]")),
    ("timeframe-word", set_field("timeframe", "fast"), field("timeframe")),
    ("timeframe-negative", set_field("timeframe", "-1h"), field("timeframe")),
    ("timeframe-zero", set_field("timeframe", "0h"), field("timeframe")),
    ("timeframe-no-unit", set_field("timeframe", "1"), field("timeframe")),
    ("timeframe-months", set_field("timeframe", "1M"), field("timeframe")),
    ("timeframe-empty", set_field("timeframe", ""), field("timeframe")),
    ("horizons-empty", set_field("horizons", []), field("horizons")),
    ("horizons-decreasing", set_field("horizons", [7, 1, 30]), field("horizons")),
    ("horizons-repeated", set_field("horizons", [1, 1, 30]), field("horizons")),
    ("horizons-zero", set_field("horizons", [0, 7, 30]), field("horizons[0]")),
    ("horizons-fewer-than-n_horizons", set_field("horizons", [1, 7]), field("horizons")),
    ("window-0", set_field("window", 0), field("window")),
    ("window-negative", set_field("window", -5), field("window")),
    ("calendar-unknown", set_field("calendar", "forex"), field("calendar")),
    ("calendar-case", set_field("calendar", "Crypto"), field("calendar")),
    ("train_start-word", set_field("train_start", "yesterday"), field("train_start")),
    ("train_start-now", set_field("train_start", "now"), field("train_start")),
    ("train_end-garbage", set_field("train_end", "2021-13-45 garbage"), field("train_end")),
    ("train_end-before-start", set_field("train_end", "2019-06-30 00:00:00+00:00"), field("train_end")),
    ("train_end-naive-start-aware", set_field("train_end", "2021-01-31 23:59:59"), field("train_end")),
    ("train_start-empty-only", set_field("train_start", ""), field("train_start")),
    ("train_end-empty-only", set_field("train_end", ""), field("train_end")),
    ("train_fingerprint-short", set_field("train_fingerprint", "abc"), field("train_fingerprint")),
    ("train_fingerprint-not-hex", set_field("train_fingerprint", "g" * 64), field("train_fingerprint")),
    ("train_fingerprint-empty", set_field("train_fingerprint", ""), field("train_fingerprint")),
    ("extra-top-level-key", set_field("horizon", "1D"), field("horizon") + ".*unknown key"),
    ("extra-architecture-key", set_field("architecture.bidirectional", True),
     field("architecture.bidirectional") + ".*unknown key"),
    # the optional blocks of a pooled model (the shrinkage head's prior, each seed's read-out bias)
    ("head_prior-a-short", set_field("head_prior.a", [0.1, 0.2]), field("head_prior.a")),
    ("head_prior-b-row-short", set_field("head_prior.b", [[0.1, 0.2]] * 3), field("head_prior.b[0]")),
    ("head_prior-k-negative", set_field("head_prior.k_days", [-1.0, 240.0, 480.0]), field("head_prior.k_days[0]")),
    ("head_prior-k-str", set_field("head_prior.k_days", ["1000", 240.0, 480.0]), field("head_prior.k_days[0]")),
    ("head_prior-a-nan", set_field("head_prior.a", [float("nan"), 2.1, 3.6]), field("head_prior.a[0]")),
    ("head_prior-min_train_days-0", set_field("head_prior.min_train_days", 0), field("head_prior.min_train_days")),
    ("head_prior-extra-key", set_field("head_prior.shape", 1), field("head_prior.shape") + ".*unknown key"),
    ("head_prior-list", set_field("head_prior", [1, 2]), field("head_prior")),
    ("pretraining-bias-empty", set_field("pretraining.member_correction_bias", []),
     field("pretraining.member_correction_bias")),
    ("pretraining-bias-short", set_field("pretraining.member_correction_bias", [[0.0], [0.0]]),
     field("pretraining.member_correction_bias")),
    ("pretraining-rows-other-coins", set_field("pretraining.rows", {"sol": {"train": 1, "val": 1}}),
     field("pretraining.rows")),
    ("edited-head_prior-k", set_field("head_prior.k_days", [10.0, 240.0, 480.0]), EDITED),
    ("edited-head_prior-removed", drop_field("head_prior"), EDITED),
    ("edited-pretraining-bias", set_field("pretraining.member_correction_bias", [[0.0] * 3] * 2), EDITED),
    # valid values, edited after training: the seal
    ("edited-horizons", set_field("horizons", [1, 7, 31]), EDITED),
    ("edited-window", set_field("window", 24), EDITED),
    ("edited-train_end-earlier", set_field("train_end", "2020-06-30 23:59:59+00:00"), EDITED),
    ("edited-train_start", set_field("train_start", "2020-03-01 00:00:00+00:00"), EDITED),
    ("edited-train_fingerprint", set_field("train_fingerprint", "0" * 64), EDITED),
    ("edited-calendar", set_field("calendar", "equity"), EDITED),
    ("edited-timeframe", set_field("timeframe", "2h"), EDITED),
    ("edited-feature_names-order", lambda f, o: edit(f, swapped_features), EDITED),
    ("edited-metrics-value", set_field("metrics.val_qlike", 0.1), EDITED),
    ("edited-metrics-added", set_field("metrics.sharpe", 3.0), EDITED),
    ("edited-source", set_field("source", "eth_usdt_1h"), EDITED),
    ("edited-training", set_field("training.seed", 7), EDITED),
    ("edited-versions", set_field("versions.torch", "1.0"), EDITED),
    ("edited-dropout", set_field("architecture.dropout", 0.1), EDITED),
    ("edited-relative", set_field("architecture.relative", False), EDITED),
    ("edited-ensemble-shape", lambda f, o: edit(f, lambda c: c["architecture"].update(
        hidden_size=12, ensemble_members=3, member_hidden_size=4)), EDITED),
    # one model's card in another's folder
    ("model.json-swapped", swap_cards, field("weights_sha256")),
    ("model.json-of-other-model-with-my-hash", other_card_with_my_hash, EDITED),
    # the safetensors header: seal missing or wrong
    ("resaved-without-seal", lambda f, o: resave(f, seal=False), "not sealed"),
    ("resaved-with-other-metadata", lambda f, o: resave(f, metadata={"format": "pt"}), "not sealed"),
    ("resaved-with-wrong-seal", lambda f, o: resave(f, metadata={"card_sha256": "0" * 64}), EDITED),
    ("nan-weight-resaved-without-seal", poison(float("nan"), seal=False), "not sealed"),
    # forged seals: the tensors themselves are checked
    ("nan-weight-forged-seal", poison(float("nan"), seal=True), "'lstm.weight_hh_l0' holds 1 non-finite"),
    ("inf-weight-forged-seal", poison(float("inf"), seal=True), "'lstm.weight_hh_l0' holds 1 non-finite"),
    ("inf-scaler-forged-seal", set_tensor("feature_std", lambda t: t.fill_(float("inf"))), "'feature_std' holds 10"),
    ("tensor-missing-forged-seal", lambda f, o: resave(f, lambda s: s.pop("correction.bias")),
     re.escape("missing ['correction.bias']")),
    ("tensor-extra-forged-seal", lambda f, o: resave(f, lambda s: s.update(backdoor=torch.zeros(1))),
     re.escape("unexpected ['backdoor']")),
    ("tensor-shape-forged-seal", set_tensor("correction.weight", lambda t: t[:, :4].contiguous()),
     "'correction.weight' is torch.float32 \\(3, 4\\)"),
    ("tensor-dtype-forged-seal", set_tensor("har.weight", lambda t: t.double()), "'har.weight' is torch.float64"),
    ("har_idx-forged-seal", set_tensor("har_idx", lambda t: torch.tensor([0, 1, 9])), "'har_idx'.*har_index"),
]


def test_battery_is_large_and_unique():
    assert len(TAMPERS) >= 36
    assert len({case[0] for case in TAMPERS}) == len(TAMPERS)


@pytest.mark.parametrize("corrupt, expected", [case[1:] for case in TAMPERS], ids=[case[0] for case in TAMPERS])
def test_tampered_folder_gives_a_clear_error(sealed, tmp_path, corrupt, expected):
    folder = Path(shutil.copytree(sealed["btc"], tmp_path / "btc-1h"))
    other = Path(shutil.copytree(sealed["eth"], tmp_path / "eth-1h"))
    corrupt(folder, other)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder, expected_features=FEATURE_NAMES)
    message = str(info.value)
    assert str(folder) in message
    assert re.search(expected, message), message


# --------------------------------------------------------------------------------------------
# reseal: upgrading unsealed format-2 folders
# --------------------------------------------------------------------------------------------

def write_format_2(model: VolatilityLSTM, card: ModelCard, folder: Path, drop_relative: bool = True) -> Path:
    """The previous save_checkpoint: no header metadata, weights hash in the card, format 2."""
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / WEIGHTS))
    raw = {k: getattr(card, k) for k in SEALED_FIELDS}
    raw |= {"architecture": dict(model.config), "format_version": 2,
            "versions": {"lstm_strategies": "0.1.9", "torch": "2.0"},
            "weights_sha256": hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()}
    if drop_relative:
        raw["architecture"].pop("relative")
    (folder / CARD).write_text(json.dumps(raw, indent=2, sort_keys=True))
    return folder


def test_reseal_upgrades_format_2_and_keeps_everything(tmp_path):
    model = merge_ensemble([small_network(0), small_network(1)])
    model.config["relative"] = False
    folder = write_format_2(model, small_card(), tmp_path / "old")
    before = json.loads((folder / CARD).read_text())
    with pytest.raises(CheckpointError, match="format_version.*reseal"):
        load_checkpoint(folder)
    assert reseal(folder) == folder
    net, card = load_checkpoint(folder, expected_features=FEATURE_NAMES)
    for name, tensor in model.state_dict().items():
        assert torch.equal(net.state_dict()[name], tensor), name
    after = json.loads((folder / CARD).read_text())
    assert after["format_version"] == FORMAT_VERSION and after["architecture"]["relative"] is False
    assert after["versions"] == {"lstm_strategies": "0.1.9", "torch": "2.0"}  # who trained it
    same = set(SEALED_FIELDS) - {"format_version", "weights_sha256", "architecture"}
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    weights = (folder / WEIGHTS).read_bytes()
    reseal(folder)  # already sealed: verified, left as it is
    assert (folder / WEIGHTS).read_bytes() == weights


@pytest.mark.parametrize("corrupt, expected", [
    (lambda f: flip(-5)(f, None), "'weights_sha256'"),
    (lambda f: edit(f, lambda c: c.update(weights_sha256="")), "'weights_sha256'"),
    (lambda f: edit(f, lambda c: c.pop("weights_sha256")), "'weights_sha256'"),
    (lambda f: edit(f, lambda c: c.update(format_version=1)), "'format_version' = 1"),
    (lambda f: edit(f, lambda c: c.update(horizons=[1, 7])), "'horizons'"),
    (lambda f: edit(f, lambda c: c.update(horizon="1D")), "'horizon'"),
    (lambda f: poison(float("nan"), seal=False)(f, None), "non-finite"),
], ids=["flipped", "empty-hash", "no-hash", "format-1", "bad-field", "extra-key", "nan"])
def test_reseal_refuses_what_it_cannot_verify(tmp_path, corrupt, expected):
    folder = write_format_2(small_network(0), small_card(), tmp_path / "old")
    corrupt(folder)
    card_before, weights_before = (folder / CARD).read_bytes(), (folder / WEIGHTS).read_bytes()
    with pytest.raises(CheckpointError, match=expected):
        reseal(folder)
    assert (folder / CARD).read_bytes() == card_before and (folder / WEIGHTS).read_bytes() == weights_before


def test_reseal_command_line(tmp_path, capsys):
    from lstm_strategies.models.checkpoint import main

    good = write_format_2(small_network(0), small_card(), tmp_path / "good")
    bad = write_format_2(small_network(1), small_card(), tmp_path / "bad")
    flip(-5)(bad, None)
    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr()
    assert f"{good}: sealed (format {FORMAT_VERSION}" in out.out and "weights_sha256" in out.err
    load_checkpoint(good)


# --------------------------------------------------------------------------------------------
# Bounded loading: special files and huge files are refused at once (pytest-timeout catches a hang)
# --------------------------------------------------------------------------------------------

@pytest.mark.timeout(20)
@pytest.mark.parametrize("target, name, message", [
    ("/dev/zero", CARD, "is a device, not a regular file"),
    ("/dev/urandom", WEIGHTS, "is a device, not a regular file"),
    ("fifo", CARD, "is a named pipe, not a regular file"),
    ("dir", CARD, "is a folder, not a model card"),
    ("dir", WEIGHTS, "is a folder, not a model weights"),
])
def test_special_files_in_a_model_folder_are_refused_at_once(ckpt, target, name, message):
    import os

    path = ckpt / name
    path.unlink()
    if target == "fifo":
        os.mkfifo(path)
    elif target == "dir":
        path.mkdir()
    else:
        path.symlink_to(target)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(ckpt)


def test_an_oversized_card_is_refused_before_it_is_read(ckpt):
    with open(ckpt / CARD, "r+b") as fh:
        fh.truncate(2 * 1024 * 1024)  # sparse: 2 MiB on paper, nothing on disk
    with pytest.raises(CheckpointError, match="more than a model card can be"):
        load_checkpoint(ckpt)


def test_a_deeply_nested_card_is_one_clear_error(ckpt):
    (ckpt / CARD).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load_checkpoint(ckpt)


def test_weights_scaled_beyond_training_are_refused_at_load(sealed, tmp_path):
    """A sealed folder whose weights were multiplied by 1e30 (finite in float32) never forecasts."""
    from lstm_strategies.models import checkpoint

    net, card = load_checkpoint(sealed["eth"])
    with torch.no_grad():
        net.correction.weight.mul_(1e30)
    with pytest.raises(CheckpointError, match="not saving a model that could not be loaded"):
        save_checkpoint(net, card, tmp_path / "refused")
    limit = checkpoint.MAX_ABS_WEIGHT
    try:  # write it anyway, as a tampering tool would, then load it
        checkpoint.MAX_ABS_WEIGHT = float("inf")
        save_checkpoint(net, card, tmp_path / "tampered")
    finally:
        checkpoint.MAX_ABS_WEIGHT = limit
    with pytest.raises(CheckpointError, match="beyond anything training produces"):
        load_checkpoint(tmp_path / "tampered")


def test_a_card_horizon_beyond_a_year_is_refused(ckpt):
    edit(ckpt, lambda c: c.update(horizons=[1, 7, 3000]))
    with pytest.raises(CheckpointError, match="horizons"):
        load_checkpoint(ckpt)


# --------------------------------------------------------------------------------------------
# Names resolve one way: a bare name is the bundled model, a path is a folder
# --------------------------------------------------------------------------------------------

def test_a_local_folder_never_shadows_a_bundled_name(tmp_path, monkeypatch):
    shutil.copytree(pretrained_path("eth-1h"), tmp_path / "btc-1h")
    monkeypatch.chdir(tmp_path)
    bundled_btc = LSTMForecaster("btc-1h")
    assert Path(bundled_btc.path) == pretrained_path("btc-1h")
    assert bundled_btc.card.source.endswith("btc_usdt_1h") or "btc" in bundled_btc.card.source
    local = LSTMForecaster("./btc-1h")
    assert Path(local.path).resolve() == (tmp_path / "btc-1h").resolve()
    assert local.card.weights_sha256 == read_card(pretrained_path("eth-1h")).weights_sha256


def test_an_unknown_name_with_a_local_folder_says_how_to_use_it(tmp_path, monkeypatch):
    shutil.copytree(pretrained_path("eth-1h"), tmp_path / "my-model")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match='write model = "./my-model"'):
        LSTMForecaster("my-model")
    with pytest.raises(CheckpointError, match="does not exist"):
        LSTMForecaster("./missing-model")
