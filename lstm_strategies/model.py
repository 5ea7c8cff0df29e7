"""The LSTM volatility network (PyTorch)."""

from __future__ import annotations

import torch
from torch import nn


class VolatilityLSTM(nn.Module):
    r"""Log-HAR plus an LSTM correction, forecasting the log variance over the horizon.

    .. math:: \log \hat\sigma^2_{t,t+h} = \underbrace{b_0 + b^\top \log RV^{(1,7,30)}_t}_{\text{log-HAR head}}
              + \underbrace{w^\top \mathrm{LSTM}(z_{t-W+1..t})}_{\text{correction, starts at 0}}

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
        Positions of the log RV 1/7/30-day features among the inputs.
    """

    def __init__(self, n_features: int, hidden_size: int = 16, num_layers: int = 1,
                 dropout: float = 0.0, har_index: tuple[int, ...] = (0, 1, 2)):
        super().__init__()
        self.config = {"n_features": n_features, "hidden_size": hidden_size, "num_layers": num_layers,
                       "dropout": dropout, "har_index": list(har_index)}
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.register_buffer("har_idx", torch.tensor(list(har_index), dtype=torch.long))
        self.lstm = nn.LSTM(n_features, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.har = nn.Linear(len(har_index), 1)
        self.correction = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def set_scaler(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training-window feature statistics.

        A feature that was (numerically) constant on the training rows gets a std of 1: dividing
        by a std of 1e-12 would turn float rounding noise into inputs of order one.
        """
        self.feature_mean.copy_(mean)
        constant = std <= 1e-6 * torch.clamp(mean.abs(), min=1.0)
        self.feature_std.copy_(torch.where(constant, torch.ones_like(std), std))

    def set_har(self, coef: torch.Tensor, intercept: float) -> None:
        """Initialise the log-HAR head (e.g. from OLS on the training rows)."""
        with torch.no_grad():
            self.har.weight.copy_(coef.reshape(1, -1))
            self.har.bias.fill_(float(intercept))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log variance forecast for a batch of windows ``x`` of shape ``(batch, window, features)``."""
        z = (x - self.feature_mean) / self.feature_std
        out, _ = self.lstm(z)
        base = self.har(x[:, -1, self.har_idx])
        return (base + self.correction(out[:, -1])).squeeze(-1)


def qlike_loss(log_forecast: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""QLIKE on variance, written in the log forecast: :math:`y e^{-f} + f - \log y - 1`.

    QLIKE (Patton 2011) is robust to noise in the realized-variance proxy and punishes forecasts
    that are too low more than ones too high, which is what a risk manager wants.
    """
    return (target * torch.exp(-log_forecast) + log_forecast - torch.log(target) - 1.0).mean()


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
    merged = VolatilityLSTM(cfg["n_features"], k * h, 1, 0.0, tuple(cfg["har_index"]))
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
