"""Save and load LSTM checkpoints: weights in safetensors, metadata in JSON, no pickle.

A checkpoint is a folder with ``model.safetensors`` and ``model.json`` (the *card*). The card holds
the format version, the architecture, the feature names in order, the exogenous inputs the model
reads (``inputs``, e.g. ``["implied_vol"]``; absent or empty: the bars alone), the bar size, horizons
and window, the training window and a fingerprint of its rows, validation metrics, library versions
and the SHA-256 of the weights file.

The folder is sealed both ways, so that nothing can change after training without being noticed:

* the card's ``weights_sha256`` is the SHA-256 of ``model.safetensors`` (required);
* the safetensors header's metadata holds ``card_sha256``, the SHA-256 of the card's canonical
  JSON (:func:`card_digest`: sorted keys, no whitespace) *without* ``weights_sha256``, so there is
  no cycle: the weights are written first (sealing the card), then the card (sealing the weights).

Loading checks, before anything is used: every card field (type, range, consistency; unknown keys
are refused), the weights hash, the card seal, then the tensors' names, shapes and dtypes against
the architecture and that every value is finite. Any failure is one :class:`CheckpointError` that
names the file and the field. Folders of the unsealed format 2 are upgraded with :func:`reseal`
(``python -m lstm_strategies.models.checkpoint FOLDER...``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from lstm_strategies.core.atomic import atomic_write
from lstm_strategies.core.errors import CheckpointError
from lstm_strategies.market.exogenous import check_model_inputs
from lstm_strategies.models.card import (  # noqa: F401  (the card's API, re-exported where checkpoints are)
    FORMAT_VERSION,
    METADATA,
    SHA256_PATTERN,
    UNSEALED_FORMAT_VERSION,
    ModelCard,
    _bad,
    canonical_json,
    card_digest,
    validate_card,
)
from lstm_strategies.models.card import RETRAIN as _RETRAIN
from lstm_strategies.models.network import VolatilityLSTM
from lstm_strategies.models.sealed import (  # noqa: F401  (the torch-free readers, importable here as before)
    PRETRAINED_DIR,
    SEAL_KEY,
    WEIGHTS,
    _header,
    _read_json,
    _read_weights,
    _sha256,
    _verified,
    pretrained_names,
    pretrained_path,
    read_card,
)

#: no trained weight or scaler value comes near this; a tampered file (weights x 1e30) is refused at load
MAX_ABS_WEIGHT = 1e4


# --------------------------------------------------------------------------------------------
# Tensors
# --------------------------------------------------------------------------------------------

def _build(arch: dict) -> VolatilityLSTM:
    model = VolatilityLSTM(arch["n_features"], arch["hidden_size"], arch["num_layers"], arch["dropout"],
                           tuple(arch["har_index"]), arch["n_horizons"], arch.get("relative", False))
    # a merged ensemble's record survives a load and re-save (save_checkpoint writes model.config)
    model.config.update({k: arch[k] for k in ("ensemble_members", "member_hidden_size") if k in arch})
    return model


def _check_tensors(weights: Path, state: dict[str, torch.Tensor], model: VolatilityLSTM) -> None:
    """Names, shapes and dtypes as the architecture says; every value finite; har_idx as recorded."""
    expected = model.state_dict()
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{weights}: tensors do not fit field 'architecture' of model.json (missing "
                              f"{missing}, unexpected {extra}); {_RETRAIN}")
    for name, ref in expected.items():
        got = state[name]
        if got.shape != ref.shape or got.dtype != ref.dtype:
            raise CheckpointError(f"{weights}: tensor '{name}' is {got.dtype} {tuple(got.shape)}, field "
                                  f"'architecture' of model.json needs {ref.dtype} {tuple(ref.shape)}; {_RETRAIN}")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            bad = int((~torch.isfinite(got)).sum())
            raise CheckpointError(f"{weights}: tensor '{name}' holds {bad} non-finite value(s) (NaN/inf); "
                                  f"{_RETRAIN}")
        if got.is_floating_point() and got.numel() and float(got.abs().max()) > MAX_ABS_WEIGHT:
            raise CheckpointError(f"{weights}: tensor '{name}' holds values up to {float(got.abs().max()):.3g}, "
                                  f"beyond anything training produces (|w| <= {MAX_ABS_WEIGHT:g}); the weights "
                                  f"were tampered with or corrupted: {_RETRAIN}")
    if not bool((state["feature_std"] > 0).all()):
        raise CheckpointError(f"{weights}: tensor 'feature_std' holds values <= 0 (a scale must be positive); "
                              f"{_RETRAIN}")
    if not torch.equal(state["har_idx"], expected["har_idx"]):
        raise CheckpointError(f"{weights}: tensor 'har_idx' = {state['har_idx'].tolist()} differs from field "
                              f"'architecture.har_index' {expected['har_idx'].tolist()}; {_RETRAIN}")


def _load_tensors(weights: Path, data: bytes, arch: dict) -> VolatilityLSTM:
    try:
        state = load_tensors(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights}: cannot read safetensors ({exc}); {_RETRAIN}") from None
    try:
        model = _build(arch)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{weights.parent / METADATA}: field 'architecture' cannot be built ({exc}); "
                              f"{_RETRAIN}") from None
    _check_tensors(weights, state, model)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights}: weights do not fit field 'architecture' of model.json ({exc})") from None
    return model.eval()


def load_checkpoint(directory: str | Path, expected_features: list[str] | None = None,
                    expected_inputs: tuple[str, ...] | list[str] | None = None) -> tuple[VolatilityLSTM, ModelCard]:
    """Rebuild a model from a checkpoint folder without executing any code from it.

    Parameters
    ----------
    directory : path
        Folder with ``model.json`` and ``model.safetensors``.
    expected_features : list of str, optional
        The feature names the caller will feed, in order; a mismatch is a :class:`CheckpointError`.
    expected_inputs : sequence of str, optional
        The exogenous inputs the caller will feed (``()``: none); a model that reads others (the
        card's ``inputs``) is a :class:`CheckpointError` saying which forecaster and series it needs.
    """
    directory = Path(directory)
    card, data = _verified(directory)  # the card's fields, the weights hash and the seal, before any tensor
    if expected_inputs is not None:
        check_model_inputs(card.inputs, expected_inputs, directory)
    if expected_features is not None and list(expected_features) != list(card.feature_names):
        extra = sorted(set(card.feature_names) - set(expected_features))
        lacking = sorted(set(expected_features) - set(card.feature_names))
        raise CheckpointError(f"{directory}: the model was trained on features {card.feature_names}; the "
                              f"caller provides {list(expected_features)} (model-only: {extra}, caller-only: "
                              f"{lacking}); use a model trained with this library version's features")
    model = _load_tensors(directory / WEIGHTS, data, card.architecture)
    return model, card


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def _serialize(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """safetensors bytes with the header's metadata in sorted order.

    safetensors writes the metadata in hash-map order, which varies from run to run; sorting it
    (a permutation of the same keys: same length, same offsets) makes a save byte-reproducible,
    so the same model and card always give the same ``weights_sha256``.
    """
    data = save_tensors(tensors, metadata=metadata)
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    if len(text) > size:  # pragma: no cover  (a permutation cannot grow)
        raise CheckpointError(f"cannot reorder the safetensors header ({len(text)} > {size} bytes)")
    return data[:8] + text.ljust(size, b" ") + data[8 + size:]


def _write(model: VolatilityLSTM, card: ModelCard, directory: Path) -> Path:
    """Seal and write: weights (header: the card's digest) first, then the card (the weights' hash)."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{directory}: tensor '{name}' holds NaN/inf values; not saving a model that "
                                  "could not be loaded")
        if tensor.is_floating_point() and tensor.numel() and float(tensor.abs().max()) > MAX_ABS_WEIGHT:
            raise CheckpointError(f"{directory}: tensor '{name}' holds values up to {float(tensor.abs().max()):.3g} "
                                  f"(> {MAX_ABS_WEIGHT:g}); not saving a model that could not be loaded")
    card.architecture = dict(model.config)
    card.format_version = FORMAT_VERSION
    card.weights_sha256 = "0" * 64  # placeholder: validated as a hash, excluded from the seal
    # hash what will be read back: JSON round trip (tuples become lists, ...)
    raw = json.loads(json.dumps(card.as_json(), sort_keys=True))
    validate_card(raw, directory / METADATA)  # never write a card that load_checkpoint would refuse
    metadata = {"format": "pt", SEAL_KEY: card_digest(raw), "format_version": str(FORMAT_VERSION)}
    data = _serialize(tensors, metadata)
    atomic_write(directory / WEIGHTS, lambda p: Path(p).write_bytes(data))
    card.weights_sha256 = _sha256(directory / WEIGHTS)
    text = json.dumps(card.as_json(), indent=2, sort_keys=True) + "\n"
    atomic_write(directory / METADATA, lambda p: Path(p).write_text(text))
    return directory


def save_checkpoint(model: VolatilityLSTM, card: ModelCard, directory: str | Path) -> Path:
    """Write a sealed ``model.safetensors`` and ``model.json`` into ``directory`` (each atomically).

    Sets the card's ``architecture`` (from the model), ``versions``, ``format_version`` and
    ``weights_sha256``; an invalid card or a NaN/inf weight is a :class:`CheckpointError` and
    nothing is written.
    """
    from lstm_strategies._version import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    card.versions = {"lstm_strategies": __version__, "torch": torch.__version__}
    return _write(model, card, directory)


def reseal(directory: str | Path) -> Path:
    """Upgrade an unsealed format-2 checkpoint folder to the sealed format, in place (maintainers).

    The weights file must match the card's ``weights_sha256`` (checked first); the tensors must
    fit the architecture and be finite. The card keeps every field (its ``versions`` record who
    trained it); only ``format_version``, the seal and the weights hash change (and
    ``architecture.relative`` is written out when absent). A folder already in the current
    format is verified and left as it is.
    """
    directory = Path(directory)
    path = directory / METADATA
    raw = _read_json(path)
    if isinstance(raw, dict) and raw.get("format_version") == FORMAT_VERSION:
        load_checkpoint(directory)
        return directory
    if not isinstance(raw, dict) or raw.get("format_version") != UNSEALED_FORMAT_VERSION:
        version = raw.get("format_version") if isinstance(raw, dict) else None
        raise _bad(path, "format_version", f"= {version!r}: reseal upgrades format {UNSEALED_FORMAT_VERSION} "
                   f"only", "retrain the model")
    digest = raw.get("weights_sha256")
    if not isinstance(digest, str) or not re.fullmatch(SHA256_PATTERN, digest):
        raise _bad(path, "weights_sha256", f"= {digest!r} is not a SHA-256: the weights cannot be verified, "
                   "so they are not resealed", "retrain the model")
    data = _read_weights(directory / WEIGHTS, digest, path)
    unknown = sorted(set(raw) - set(ModelCard.__dataclass_fields__))
    if unknown:
        raise _bad(path, unknown[0], "is not a card field (unknown key)", "retrain the model")
    arch = raw.get("architecture")
    if not isinstance(arch, dict):
        raise _bad(path, "architecture", f"= {arch!r} is not an object", "retrain the model")
    upgraded = {**raw, "format_version": FORMAT_VERSION, "architecture": {"relative": False, **arch}}
    validate_card(upgraded, path)
    model = _load_tensors(directory / WEIGHTS, data, upgraded["architecture"])
    card = ModelCard(**{k: v for k, v in upgraded.items()})
    state = {k: v.clone() for k, v in model.state_dict().items()}
    _write(model, card, directory)
    again, _ = load_checkpoint(directory)
    if any(not torch.equal(v, again.state_dict()[k]) for k, v in state.items()):  # pragma: no cover
        raise CheckpointError(f"{directory}: resealed weights differ from the originals")
    return directory


def main(argv: list[str] | None = None) -> int:
    """``python -m lstm_strategies.models.checkpoint FOLDER...``: reseal format-2 folders (maintainers)."""
    folders = sys.argv[1:] if argv is None else argv
    if not folders:
        print("usage: python -m lstm_strategies.models.checkpoint FOLDER...  (reseal format-2 checkpoint folders)")
        return 2
    status = 0
    for folder in folders:
        try:
            reseal(folder)
            card = read_card(folder)
            print(f"{folder}: sealed (format {card.format_version}, weights {card.weights_sha256[:12]}...)")
        except CheckpointError as exc:
            print(f"{folder}: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
