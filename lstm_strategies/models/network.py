"""The LSTM volatility network (PyTorch)."""

from __future__ import annotations

import torch
from torch import nn

from lstm_strategies.features.realized import relative_form  # noqa: F401  (re-exported: the input map of the scale-free form)


class VolatilityLSTM(nn.Module):
    r"""Log-HAR plus an LSTM correction, forecasting the log variance over each of ``H`` horizons.

    .. math:: \log \hat\sigma^2_{t,t+h} = \underbrace{b_{0,h} + b_h^\top \log RV^{(d,w,m)}_t}_{\text{head } h}
              + \underbrace{w_h^\top \mathrm{LSTM}(z_{t-W+1..t})}_{\text{correction, starts at 0}}

    One LSTM is shared by every horizon (a term structure from one network); each horizon has
    its own log-HAR head and its own linear read-out of the LSTM state.

    The LSTM's inputs first pass a fixed linear map ``x' = A x`` (a buffer, the identity by
    default). The *relative* form (:func:`relative_form`) makes them scale-free: every log-variance
    feature is measured against the trailing month's log RV, so the correction responds to the
    shape of recent volatility, not to its level, and a shift in the level (2019-2021 against
    2022-2026) does not move the LSTM's inputs outside what it was trained on. The log-HAR heads
    read the raw log RVs.

    The feature scaler (mean and standard deviation fitted on the training rows only) lives in the
    module as buffers, so it travels with the weights. The correction layer is initialised at zero:
    before training the network *is* the log-HAR regression it was initialised with (as HARNet).

    Parameters
    ----------
    n_features : int
        Features per bar.
    hidden_size, num_layers, dropout : int, int, float
        LSTM size; ``dropout`` applies between stacked layers.
    har_index : tuple of int
        Positions of the log RV day/week/month features among the inputs.
    n_horizons : int
        Outputs (one log variance per horizon).
    relative : bool
        Recorded in the config; the map itself is set by :meth:`set_input_map`.
    """

    def __init__(self, n_features: int, hidden_size: int = 16, num_layers: int = 1,
                 dropout: float = 0.0, har_index: tuple[int, ...] = (0, 1, 2), n_horizons: int = 1,
                 relative: bool = False):
        super().__init__()
        self.config = {"n_features": n_features, "hidden_size": hidden_size, "num_layers": num_layers,
                       "dropout": dropout, "har_index": list(har_index), "n_horizons": n_horizons,
                       "relative": relative}
        self.register_buffer("input_map", torch.eye(n_features))
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.register_buffer("har_idx", torch.tensor(list(har_index), dtype=torch.long))
        self.lstm = nn.LSTM(n_features, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.har = nn.Linear(len(har_index), n_horizons)
        self.correction = nn.Linear(hidden_size, n_horizons)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def set_input_map(self, matrix: torch.Tensor) -> None:
        """The fixed linear map of the LSTM's inputs."""
        self.input_map.copy_(matrix)

    def set_scaler(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training-window feature statistics.

        A feature that was (numerically) constant on the training rows gets a std of 1: dividing
        by a std of 1e-12 would turn float rounding noise into inputs of order one.
        """
        self.feature_mean.copy_(mean)
        constant = std <= 1e-6 * torch.clamp(mean.abs(), min=1.0)
        self.feature_std.copy_(torch.where(constant, torch.ones_like(std), std))

    def set_har(self, coef: torch.Tensor, intercept: torch.Tensor) -> None:
        """Initialise the log-HAR heads (e.g. from OLS on the training rows): ``coef`` is (H, 3)."""
        with torch.no_grad():
            self.har.weight.copy_(coef.reshape(self.har.weight.shape))
            self.har.bias.copy_(intercept.reshape(self.har.bias.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log variance forecasts ``(batch, H)`` for windows ``x`` of shape ``(batch, window, features)``."""
        return self.head(x) + self.correction_of(x)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """The log-HAR heads alone: ``(batch, H)``."""
        return self.har(x[:, -1, self.har_idx])

    def correction_of(self, x: torch.Tensor) -> torch.Tensor:
        """The LSTM correction alone: ``(batch, H)``."""
        z = (x @ self.input_map.T - self.feature_mean) / self.feature_std
        out, _ = self.lstm(z)
        return self.correction(out[:, -1])


def qlike_loss(log_forecast: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    r"""QLIKE on variance, written in the log forecast: :math:`y e^{-f} + f - \log y - 1`.

    Averaged over the batch and summed over the horizons (the last axis), each horizon weighted by
    ``weights`` when given (0: that horizon is not trained). QLIKE (Patton 2011) is robust to noise
    in the realized-variance proxy and punishes forecasts that are too low more than ones too high,
    which is what a risk manager wants.
    """
    loss = target * torch.exp(-log_forecast) + log_forecast - torch.log(target) - 1.0
    if loss.dim() == 1:
        return loss.mean()
    per_horizon = loss.mean(dim=0)
    return per_horizon.sum() if weights is None else (per_horizon * weights).sum()


def zero_corrections(net: VolatilityLSTM, keep: list[bool]) -> VolatilityLSTM:
    """Set the read-out of every horizon whose correction is not kept to zero, in place (the gate): such a
    horizon forecasts with its head alone."""
    with torch.no_grad():
        for j, kept in enumerate(keep):
            if not kept:
                net.correction.weight[j].zero_()
                net.correction.bias[j] = 0.0
    return net


def merge_ensemble(members: list[VolatilityLSTM]) -> VolatilityLSTM:
    """Fold k single-layer members into one network whose output is their mean log forecast.

    The merged LSTM has ``k * hidden`` units with block-diagonal recurrent weights (each block is
    one member, so the members never interact), the correction layer averages the members'
    corrections and the log-HAR head averages their heads. Forecasts equal the geometric mean of
    the members' forecasts, at the inference cost of one (wider) network.
    """
    first = members[0]
    cfg = first.config
    if cfg["num_layers"] != 1:
        raise ValueError("merge_ensemble supports single-layer members")
    if any(m.config != cfg for m in members):
        raise ValueError("ensemble members must share one architecture")
    if any(not torch.equal(m.feature_mean, first.feature_mean) for m in members):
        raise ValueError("ensemble members must share one feature scaler (same training rows)")
    k, h = len(members), cfg["hidden_size"]
    if any(not torch.equal(m.input_map, first.input_map) for m in members):
        raise ValueError("ensemble members must share one input map")
    merged = VolatilityLSTM(cfg["n_features"], k * h, 1, 0.0, tuple(cfg["har_index"]), cfg.get("n_horizons", 1),
                            cfg.get("relative", False))
    merged.set_input_map(first.input_map)
    merged.feature_mean.copy_(first.feature_mean)
    merged.feature_std.copy_(first.feature_std)
    with torch.no_grad():
        w_ih = merged.lstm.weight_ih_l0
        w_hh = merged.lstm.weight_hh_l0
        b_ih, b_hh = merged.lstm.bias_ih_l0, merged.lstm.bias_hh_l0
        w_hh.zero_()
        for j, m in enumerate(members):
            for gate in range(4):  # PyTorch gate order: input, forget, cell, output
                rows = slice(gate * k * h + j * h, gate * k * h + (j + 1) * h)
                src = slice(gate * h, (gate + 1) * h)
                w_ih[rows] = m.lstm.weight_ih_l0[src]
                w_hh[rows, j * h:(j + 1) * h] = m.lstm.weight_hh_l0[src]
                b_ih[rows] = m.lstm.bias_ih_l0[src]
                b_hh[rows] = m.lstm.bias_hh_l0[src]
            merged.correction.weight[:, j * h:(j + 1) * h] = m.correction.weight / k
        merged.correction.bias.copy_(torch.stack([m.correction.bias for m in members]).mean(0))
        merged.har.weight.copy_(torch.stack([m.har.weight for m in members]).mean(0))
        merged.har.bias.copy_(torch.stack([m.har.bias for m in members]).mean(0))
    merged.config["ensemble_members"] = k
    merged.config["member_hidden_size"] = h
    return merged.eval()


def split_ensemble(merged: VolatilityLSTM, biases: list[list[float]]) -> list[VolatilityLSTM]:
    """The members of a network :func:`merge_ensemble` built, given each member's read-out bias (the merged
    network keeps only their mean): the LSTM blocks exactly, each read-out scaled back (``k`` times its
    share, exact to float32 rounding), the log-HAR head the merged one. A horizon whose correction was
    gated off comes back as zero in every member."""
    cfg = merged.config
    k = cfg.get("ensemble_members", 0) or 1
    if len(biases) != k or any(len(b) != cfg["n_horizons"] for b in biases):
        raise ValueError(f"{len(biases)} member biases for a network of {k} member(s) and {cfg['n_horizons']} "
                         "horizons")
    h = cfg.get("member_hidden_size", cfg["hidden_size"])
    members = []
    with torch.no_grad():
        for j in range(k):
            m = VolatilityLSTM(cfg["n_features"], h, 1, 0.0, tuple(cfg["har_index"]), cfg["n_horizons"],
                               cfg.get("relative", False))
            m.set_input_map(merged.input_map)
            m.feature_mean.copy_(merged.feature_mean)
            m.feature_std.copy_(merged.feature_std)
            for gate in range(4):  # PyTorch gate order: input, forget, cell, output
                rows = slice(gate * k * h + j * h, gate * k * h + (j + 1) * h)
                dst = slice(gate * h, (gate + 1) * h)
                m.lstm.weight_ih_l0[dst] = merged.lstm.weight_ih_l0[rows]
                m.lstm.weight_hh_l0[dst] = merged.lstm.weight_hh_l0[rows, j * h:(j + 1) * h]
                m.lstm.bias_ih_l0[dst] = merged.lstm.bias_ih_l0[rows]
                m.lstm.bias_hh_l0[dst] = merged.lstm.bias_hh_l0[rows]
            m.correction.weight.copy_(merged.correction.weight[:, j * h:(j + 1) * h] * k)
            m.correction.bias.copy_(torch.tensor(biases[j], dtype=torch.float32))
            m.har.load_state_dict(merged.har.state_dict())
            members.append(m.eval())
    return members
