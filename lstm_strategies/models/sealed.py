"""A checkpoint folder read without torch: its card, checked field by field, against the weights' SHA-256
and the seal in the weights file's header (see :mod:`lstm_strategies.models.checkpoint` for the format).

``lstm-strategies models``, the card checks and anything that only needs to know what a model is read
here, so listing the bundled models never imports torch; loading the tensors is
:func:`~lstm_strategies.models.checkpoint.load_checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lstm_strategies.core.errors import CheckpointError
from lstm_strategies.core.readers import path_kind, read_bytes
from lstm_strategies.models.card import METADATA, ModelCard, card_digest, validate_card
from lstm_strategies.models.card import RETRAIN as _RETRAIN

WEIGHTS = "model.safetensors"
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
SEAL_KEY = "card_sha256"



# --------------------------------------------------------------------------------------------
# Hashes and the seal
# --------------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"duplicate key(s) {dup}")
    return dict(pairs)


def _read_json(path: Path) -> Any:
    if path_kind(path, "model card", CheckpointError) == "missing" and not path.is_symlink():
        raise CheckpointError(f"{path}: no model.json; a checkpoint folder holds model.json and "
                              "model.safetensors (write one with `lstm-strategies train`)")
    data = read_bytes(path, "model card", CheckpointError, _RETRAIN)
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise CheckpointError(f"{path}: not a model card: its JSON is nested too deeply; {_RETRAIN}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc}); the file is truncated or edited: {_RETRAIN}") from None


def _header(weights: Path, data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header (8-byte length, then JSON)."""
    try:
        size = int.from_bytes(data[:8], "little")
        if len(data) < 8 or size > len(data) - 8:
            raise ValueError(f"header of {size} bytes in a file of {len(data)}")
        header = json.loads(data[8:8 + size].decode("utf-8"))
        metadata = (header.get("__metadata__") or {}) if isinstance(header, dict) else None
        if not isinstance(metadata, dict):
            raise ValueError("the header is not a JSON object with an object '__metadata__'")
        return metadata
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{weights}: cannot read the safetensors header ({exc}); {_RETRAIN}") from None


def _read_weights(weights: Path, expected: str, card_path: Path) -> bytes:
    """The weights file's bytes, once they match the card's ``weights_sha256``."""
    if path_kind(weights, "model weights", CheckpointError) == "missing" and not weights.is_symlink():
        raise CheckpointError(f"{weights}: weights file missing; {_RETRAIN}")
    data = read_bytes(weights, "model weights", CheckpointError, _RETRAIN)
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise CheckpointError(f"{weights}: SHA-256 {digest[:12]}... does not match field 'weights_sha256' of "
                              f"{card_path} ({expected[:12]}...); the weights file is truncated or was modified "
                              f"(or model.json belongs to another model): {_RETRAIN}")
    return data


def _verified(directory: Path) -> tuple[ModelCard, bytes]:
    """The checked card and the weights' bytes: fields, then the weights hash, then the seal."""
    path = directory / METADATA
    raw = _read_json(path)
    card = validate_card(raw, path)
    weights = directory / WEIGHTS
    data = _read_weights(weights, card.weights_sha256, path)
    sealed = _header(weights, data).get(SEAL_KEY)
    if sealed is None:
        raise CheckpointError(f"{weights}: the header holds no '{SEAL_KEY}', so {path} is not sealed (the weights "
                              f"were re-saved outside save_checkpoint); {_RETRAIN}")
    if sealed != card_digest(raw):
        raise CheckpointError(f"{path}: the card was edited after training: its SHA-256 {card_digest(raw)[:12]}... "
                              f"does not match '{SEAL_KEY}' {str(sealed)[:12]}... sealed in {weights} (a field such "
                              f"as horizons, window, train_end or metrics changed); {_RETRAIN}")
    return card, data


def read_card(directory: str | Path) -> ModelCard:
    """Read and check ``model.json``: every field, the weights hash and the card's seal.

    The tensors are not loaded; a card edited after training, a modified weights file or a card
    of another model is a :class:`CheckpointError`.
    """
    return _verified(Path(directory))[0]


def pretrained_names() -> list[str]:
    """Names of the bundled models."""
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / METADATA).exists())


def pretrained_path(name: str) -> Path:
    """Folder of a bundled model; unknown names list the known ones."""
    path = PRETRAINED_DIR / name
    if not (path / METADATA).exists():
        raise CheckpointError(f"unknown pretrained model {name!r}; bundled: {pretrained_names()}")
    return path
