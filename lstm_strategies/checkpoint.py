"""Save and load LSTM checkpoints: weights in safetensors, metadata in JSON, no pickle.

A checkpoint is a folder with ``model.safetensors`` and ``model.json``. The JSON holds the format
version, the architecture, the feature names in order, the timeframe and horizon, the training
window and a fingerprint of its rows, validation metrics, library versions and the SHA-256 of the
weights file, so a truncated or tampered file is detected before it is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lstm_strategies.atomic import atomic_write
from lstm_strategies.errors import CheckpointError
from lstm_strategies.model import VolatilityLSTM

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
METADATA = "model.json"
PRETRAINED_DIR = Path(__file__).parent / "pretrained"


@dataclass
class ModelCard:
    """Everything needed to rebuild and check a trained model (stored as ``model.json``)."""

    architecture: dict
    feature_names: list[str]
    timeframe: str
    horizon: str
    window: int
    calendar: str = "crypto"
    train_start: str = ""
    train_end: str = ""
    train_fingerprint: str = ""
    source: str = ""
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    weights_sha256: str = ""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(model: VolatilityLSTM, card: ModelCard, directory: str | Path) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory`` (atomically)."""
    import lstm_strategies

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write(directory / WEIGHTS, lambda p: save_file(tensors, p))
    card.architecture = dict(model.config)
    card.versions = {"lstm_strategies": lstm_strategies.__version__, "torch": torch.__version__}
    card.weights_sha256 = _sha256(directory / WEIGHTS)
    text = json.dumps(asdict(card), indent=2, sort_keys=True)
    atomic_write(directory / METADATA, lambda p: Path(p).write_text(text))
    return directory


def read_card(directory: str | Path) -> ModelCard:
    """Read and check ``model.json`` without touching the weights."""
    path = Path(directory) / METADATA
    if not path.exists():
        raise CheckpointError(f"{path}: no model.json; a checkpoint folder holds model.json and "
                              "model.safetensors (write one with `lstm-strategies train`)")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc}); the file is truncated or edited") from None
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r}, this library reads "
                              f"version {FORMAT_VERSION}; retrain or upgrade lstm-strategies")
    known = set(ModelCard.__dataclass_fields__)
    missing = [k for k in ("architecture", "feature_names", "timeframe", "horizon", "window") if k not in raw]
    if missing:
        raise CheckpointError(f"{path}: missing key(s) {missing}")
    return ModelCard(**{k: v for k, v in raw.items() if k in known})


def load_checkpoint(directory: str | Path,
                    expected_features: list[str] | None = None) -> tuple[VolatilityLSTM, ModelCard]:
    """Rebuild a model from a checkpoint folder without executing any code from it.

    Parameters
    ----------
    directory : path
        Folder with ``model.json`` and ``model.safetensors``.
    expected_features : list of str, optional
        The feature names the caller will feed, in order; a mismatch is a :class:`CheckpointError`.
    """
    directory = Path(directory)
    card = read_card(directory)
    weights = directory / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{weights}: weights file missing")
    digest = _sha256(weights)
    if card.weights_sha256 and digest != card.weights_sha256:
        raise CheckpointError(f"{weights}: SHA-256 {digest[:12]}... does not match model.json "
                              f"({card.weights_sha256[:12]}...); the file is truncated or was modified")
    if expected_features is not None and list(expected_features) != list(card.feature_names):
        extra = sorted(set(card.feature_names) - set(expected_features))
        lacking = sorted(set(expected_features) - set(card.feature_names))
        raise CheckpointError(f"{directory}: the model was trained on features {card.feature_names}; the "
                              f"caller provides {list(expected_features)} (model-only: {extra}, caller-only: "
                              f"{lacking}); use a model trained with this library version's features")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights}: cannot read safetensors ({exc})") from None
    arch = dict(card.architecture)
    try:
        model = VolatilityLSTM(arch["n_features"], arch["hidden_size"], arch["num_layers"],
                               arch["dropout"], tuple(arch["har_index"]))
        model.load_state_dict(state, strict=True)
    except (KeyError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{directory}: weights do not fit the architecture in model.json ({exc})") from None
    model.eval()
    return model, card


def pretrained_names() -> list[str]:
    """Names of the bundled models."""
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / METADATA).exists())


def pretrained_path(name: str) -> Path:
    """Folder of a bundled model; unknown names list the known ones."""
    path = PRETRAINED_DIR / name
    if not (path / METADATA).exists():
        raise CheckpointError(f"unknown pretrained model {name!r}; bundled: {pretrained_names()}")
    return path
