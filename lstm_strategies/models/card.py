"""The model card (``model.json``): its fields, their schema and the checks that span fields (no torch).

A card holds the format version, the architecture, the feature names in order, the exogenous inputs
the model reads (``inputs``; empty: the bars alone), the bar size, horizons (1 to
:data:`~lstm_strategies.calendar.MAX_HORIZON_DAYS` days) and window, the training window and a
fingerprint of its rows, validation metrics, library versions and the SHA-256 of the weights file.
:func:`validate_card` checks every field (strict types: ``"24"`` is not 24, ``true`` is not 1; unknown
keys refused) into one :class:`~lstm_strategies.errors.CheckpointError` naming the file and the field;
:func:`card_digest` is what the weights file's header seals (see :mod:`lstm_strategies.models.checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lstm_strategies.core.errors import CheckpointError
from lstm_strategies.data.calendar import CALENDARS, MAX_HORIZON_DAYS
from lstm_strategies.market.exogenous import INPUT_KINDS

FORMAT_VERSION = 3
UNSEALED_FORMAT_VERSION = 2  # weights hash in the card, no seal of the card: upgrade with reseal()
METADATA = "model.json"
CALENDAR_NAMES = tuple(CALENDARS)
RETRAIN = "retrain the model or restore the checkpoint folder from its source"
_RETRAIN = RETRAIN


@dataclass
class ModelCard:
    """Everything needed to rebuild and check a trained model (stored as ``model.json``)."""

    architecture: dict
    feature_names: list[str]
    timeframe: str
    horizons: list[int]
    window: int
    calendar: str = "crypto"
    train_start: str = ""
    train_end: str = ""
    train_fingerprint: str = ""
    source: str = ""
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    #: exogenous inputs the model reads besides the bars (see lstm_strategies.market.exogenous); [] = none
    inputs: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    weights_sha256: str = ""
    #: the shrinkage head's prior (``LSTMForecaster(head="shrink")``; see forecasters/shrink.py); None: none.
    #: Written only when set, so cards without it keep their bytes (and their seal)
    head_prior: dict | None = None
    #: pooled pretraining's record (coins, rows per coin, each seed's read-out bias, which fine-tuning
    #: starts from: a merged network keeps only their mean); None: not pooled. Written only when set
    pretraining: dict | None = None

    def as_json(self) -> dict:
        """The card as written: every field, without the optional blocks that are not set."""
        from dataclasses import asdict

        return {k: v for k, v in asdict(self).items() if not (k in OPTIONAL_BLOCKS and v is None)}


#: card fields that are absent from ``model.json`` when not set
OPTIONAL_BLOCKS = ("head_prior", "pretraining")


# --------------------------------------------------------------------------------------------
# The card's schema: types and ranges of each field (strict: "24" is not 24, true is not 1)
# --------------------------------------------------------------------------------------------

SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = SHA256_PATTERN
PosInt = Annotated[int, Field(ge=1)]
Hex64 = Annotated[str, Field(pattern=_SHA256)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class _Architecture(_Strict):
    n_features: Annotated[int, Field(ge=1, le=4096)]
    hidden_size: Annotated[int, Field(ge=1, le=65536)]
    num_layers: Annotated[int, Field(ge=1, le=64)]
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)]
    har_index: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]
    n_horizons: Annotated[int, Field(ge=1, le=4096)]
    relative: bool
    # only in merged ensembles (merge_ensemble); the defaults mean "not an ensemble"
    ensemble_members: Annotated[int, Field(ge=2)] = 0
    member_hidden_size: PosInt = 0


Finite = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1)]


class _HeadPrior(_Strict):
    a: Annotated[list[Finite], Field(min_length=1)]
    b: Annotated[list[Annotated[list[Finite], Field(min_length=3, max_length=3)]], Field(min_length=1)]
    k_days: Annotated[list[Annotated[float, Field(ge=0.0, le=1e6)]], Field(min_length=1)]
    min_train_days: Annotated[int, Field(ge=1, le=3650)]
    refit_every_days: Annotated[int, Field(ge=1, le=3650)]
    min_own_days: Annotated[float, Field(ge=0.0, le=3650.0)]
    coins: Annotated[list[Name], Field(min_length=1)]
    rows: Annotated[int, Field(ge=1)]


class _CoinRows(_Strict):
    train: Annotated[int, Field(ge=0)]
    val: Annotated[int, Field(ge=0)]


class _Pretraining(_Strict):
    coins: Annotated[list[Name], Field(min_length=1)]
    rows: dict[str, _CoinRows]
    member_correction_bias: Annotated[list[Annotated[list[Finite], Field(min_length=1)]], Field(min_length=1)]


class _Card(_Strict):
    architecture: _Architecture
    feature_names: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    timeframe: str
    horizons: Annotated[list[Annotated[int, Field(ge=1, le=MAX_HORIZON_DAYS)]], Field(min_length=1)]
    window: Annotated[int, Field(ge=1, le=10_000_000)]
    calendar: str
    train_start: str
    train_end: str
    train_fingerprint: str
    source: str
    metrics: dict[str, Any]
    training: dict[str, Any]
    versions: dict[str, str]
    inputs: list[Annotated[str, Field(min_length=1)]] = []
    format_version: int
    weights_sha256: Hex64
    head_prior: _HeadPrior | None = None
    pretraining: _Pretraining | None = None


def _bad(path: Path, name: str, what: str, advice: str = "") -> CheckpointError:
    return CheckpointError(f"{path}: field '{name}' {what}" + (f"; {advice}" if advice else ""))


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _from_validation_error(path: Path, exc: ValidationError) -> CheckpointError:
    problems = []
    for err in exc.errors():
        where = _loc(err["loc"]) or "(card)"
        if err["type"] == "missing":
            problems.append(f"field '{where}' is missing")
        elif err["type"] == "extra_forbidden":
            problems.append(f"field '{where}' is not a field of format {FORMAT_VERSION} (unknown key)")
        else:
            shown = repr(err.get("input"))
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            problems.append(f"field '{where}' = {shown}: {err['msg'].removeprefix('Value error, ')}")
    return CheckpointError(f"{path}: {'; '.join(problems)}; the card is malformed: {_RETRAIN}")


def _parse_time(path: Path, name: str, text: str) -> pd.Timestamp:
    if not text[:1].isdigit():
        raise _bad(path, name, f"= {text!r} is not a date (expected e.g. '2021-12-31 23:59:59+00:00')", _RETRAIN)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _bad(path, name, f"= {text!r} is not a date ({exc})", _RETRAIN) from None
    if pd.isna(stamp):
        raise _bad(path, name, f"= {text!r} is not a date", _RETRAIN)
    return stamp


def _check_consistency(path: Path, card: _Card) -> None:
    """Ranges that span fields, and the fields pydantic's types cannot express."""
    _check_architecture(path, card)
    _check_inputs_and_horizons(path, card)
    _check_bars(path, card)
    _check_training_window(path, card)
    _check_blocks(path, card)


def _check_architecture(path: Path, card: _Card) -> None:
    """The feature list against the network's shape, the log-HAR positions and the ensemble's sizes."""
    arch = card.architecture
    if len(card.feature_names) != len(set(card.feature_names)):
        dup = sorted({n for n in card.feature_names if card.feature_names.count(n) > 1})
        raise _bad(path, "feature_names", f"repeats {dup}", _RETRAIN)
    if arch.n_features != len(card.feature_names):
        raise _bad(path, "architecture.n_features", f"= {arch.n_features} but feature_names lists "
                   f"{len(card.feature_names)} features", _RETRAIN)
    if any(i >= arch.n_features for i in arch.har_index) or len(set(arch.har_index)) != len(arch.har_index):
        raise _bad(path, "architecture.har_index", f"= {arch.har_index}: positions must be distinct and below "
                   f"n_features = {arch.n_features}", _RETRAIN)
    if (arch.ensemble_members == 0) != (arch.member_hidden_size == 0):
        raise _bad(path, "architecture.ensemble_members", "and architecture.member_hidden_size come together "
                   "(an ensemble records both)", _RETRAIN)
    if arch.ensemble_members and (arch.hidden_size != arch.ensemble_members * arch.member_hidden_size
                                  or arch.num_layers != 1):
        raise _bad(path, "architecture.hidden_size", f"= {arch.hidden_size} with num_layers = {arch.num_layers}: "
                   f"a merged ensemble of {arch.ensemble_members} members of {arch.member_hidden_size} units has "
                   f"one layer of {arch.ensemble_members * arch.member_hidden_size}", _RETRAIN)


def _check_inputs_and_horizons(path: Path, card: _Card) -> None:
    """Exogenous inputs among the known kinds; horizons distinct, increasing, one per output."""
    unknown = sorted(set(card.inputs) - set(INPUT_KINDS))
    if unknown or len(set(card.inputs)) != len(card.inputs):
        raise _bad(path, "inputs", f"= {card.inputs}: exogenous inputs must be distinct and among "
                   f"{sorted(INPUT_KINDS)}", _RETRAIN)
    if card.horizons != sorted(set(card.horizons)):
        raise _bad(path, "horizons", f"= {card.horizons} must be distinct and increasing", _RETRAIN)
    if len(card.horizons) != card.architecture.n_horizons:
        raise _bad(path, "horizons", f"= {card.horizons} lists {len(card.horizons)} horizons but "
                   f"architecture.n_horizons = {card.architecture.n_horizons}", _RETRAIN)


def _check_bars(path: Path, card: _Card) -> None:
    """A bar size of at least a second, a known calendar."""
    try:
        step = pd.Timedelta(card.timeframe) if re.search("[A-Za-z]", card.timeframe) else None
    except (ValueError, TypeError, OverflowError):
        step = None
    if step is None or pd.isna(step) or step < pd.Timedelta("1s"):
        raise _bad(path, "timeframe", f"= {card.timeframe!r} is not a bar size of at least one second "
                   "(e.g. '1h', '15min', '1D')", _RETRAIN)
    if card.calendar not in CALENDAR_NAMES:
        raise _bad(path, "calendar", f"= {card.calendar!r}; choose one of {list(CALENDAR_NAMES)}", _RETRAIN)


def _check_training_window(path: Path, card: _Card) -> None:
    """Both ends of the training window or neither, in order and comparable; a fingerprint that is a SHA-256."""
    if bool(card.train_start) != bool(card.train_end):
        empty = "train_start" if not card.train_start else "train_end"
        raise _bad(path, empty, "is empty while the other end of the training window is set", _RETRAIN)
    if card.train_start:
        start = _parse_time(path, "train_start", card.train_start)
        end = _parse_time(path, "train_end", card.train_end)
        try:
            ordered = start < end
        except TypeError:
            raise _bad(path, "train_end", f"= {card.train_end!r} and train_start = {card.train_start!r}: one has a "
                       "time zone, the other not", _RETRAIN) from None
        if not ordered:
            raise _bad(path, "train_end", f"= {card.train_end!r} is not after train_start = {card.train_start!r}",
                       _RETRAIN)
    if (card.train_start or card.train_fingerprint) and not re.fullmatch(_SHA256, card.train_fingerprint):
        raise _bad(path, "train_fingerprint", f"= {card.train_fingerprint!r} is not a SHA-256 (64 lowercase hex "
                   "digits) of the training rows", _RETRAIN)


def _check_blocks(path: Path, card: _Card) -> None:
    """The optional blocks: one entry per horizon, coins named consistently (the number of seeds is checked
    where the biases are used: a card edited to another ensemble shape is the seal's to report)."""
    n = card.architecture.n_horizons
    prior = card.head_prior
    if prior is not None:
        for name in ("a", "b", "k_days"):
            if len(getattr(prior, name)) != n:
                raise _bad(path, f"head_prior.{name}", f"has {len(getattr(prior, name))} entries for "
                           f"architecture.n_horizons = {n} horizons", _RETRAIN)
    pre = card.pretraining
    if pre is not None:
        if sorted(pre.rows) != sorted(pre.coins):
            raise _bad(path, "pretraining.rows", f"names {sorted(pre.rows)}, not the coins {sorted(pre.coins)}",
                       _RETRAIN)
        if any(len(row) != n for row in pre.member_correction_bias):
            raise _bad(path, "pretraining.member_correction_bias", f"must hold rows (one per seed) of {n} values "
                       "(one per horizon)", _RETRAIN)


def validate_card(raw: Any, path: str | Path = METADATA) -> ModelCard:
    """Check a parsed ``model.json`` (types, ranges, consistency) and return its :class:`ModelCard`.

    Raises :class:`CheckpointError` naming ``path`` and the offending field; the seal is not checked
    here (see :func:`read_card`).
    """
    path = Path(path)
    if not isinstance(raw, dict):
        kind = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(raw), "null")
        raise CheckpointError(f"{path}: holds a JSON {kind}, not an object with the card's fields; {_RETRAIN}")
    version = raw.get("format_version", None)
    if "format_version" in raw and (type(version) is not int or version != FORMAT_VERSION):
        hint = (f"upgrade it with `python -m lstm_strategies.models.checkpoint {path.parent}` (reseal) or retrain"
                if version == UNSEALED_FORMAT_VERSION else "retrain, or use the lstm-strategies that wrote it")
        raise _bad(path, "format_version", f"= {version!r}: checkpoint format version {version!r}, this library "
                   f"reads version {FORMAT_VERSION}", hint)
    try:
        card = _Card.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation_error(path, exc) from None
    _check_consistency(path, card)
    return ModelCard(**{k: raw[k] for k in ModelCard.__dataclass_fields__ if k in raw})


def canonical_json(card: dict) -> str:
    """The card as hashed: sorted keys, no whitespace, ASCII, without ``weights_sha256``."""
    body = {k: v for k, v in card.items() if k != "weights_sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def card_digest(card: dict) -> str:
    """SHA-256 of :func:`canonical_json` (what the weights file's header seals)."""
    return hashlib.sha256(canonical_json(card).encode("ascii")).hexdigest()
