"""Windowed LSTM inference at the cost of one recurrent step per bar, batched or streaming.

A forecast at bar ``t`` runs the network from a zero state over bars ``t-W+1 .. t``. Consecutive
windows share bars but not states, so recomputing every window costs W steps per bar.
:class:`RollingWindowLSTM` instead keeps W sequences in flight, one started at each of the last
W bars: a new bar advances all of them by one batched step, the sequence that has now seen
exactly W bars gives the forecast, and it restarts from zero. Each forecast is the windowed
forward pass, computed once per bar.

The batched path runs the step with torch on many chunks of the series side by side (each chunk
starts W-1 bars early to fill its sequences), with per-chunk matrix products, so its numbers do not
depend on the chunking (bit for bit, tested). The streaming path runs the same float32 step on one
chunk in numpy: at these sizes (48 sequences of 24 units) a torch call costs more in dispatch than
in arithmetic, and numpy's step is about five times faster. The two libraries round differently
in the last float32 digit, so batched and streaming forecasts agree to about 5e-7 in log
variance (tested to 1e-6).
"""

from __future__ import annotations

import numpy as np
import torch

from lstm_strategies.models.network import VolatilityLSTM

#: chunks of the batched pass: each adds W-1 lead steps of work, each step a Python round; 64 was
#: the fastest of 32/64/128/256 on 40k hourly bars
CHUNKS = 64


class RollingWindowLSTM:
    """Forecasts of a single-layer :class:`VolatilityLSTM` over windows of ``window`` bars.

    ``with_head=False`` gives the LSTM correction alone (for a head refit outside the network).
    """

    def __init__(self, model: VolatilityLSTM, window: int, with_head: bool = True):
        if model.lstm.num_layers != 1:
            raise ValueError("RollingWindowLSTM supports single-layer models")
        with torch.no_grad():
            std, mean = model.feature_std.double(), model.feature_mean.double()
            amap = model.input_map.double()
            w_ih = model.lstm.weight_ih_l0.double()
            # the input map and the feature scaler folded into the input weights
            self.w_ih_t = ((w_ih / std) @ amap).T.float().contiguous()
            self.bias = (model.lstm.bias_ih_l0.double() + model.lstm.bias_hh_l0.double()
                         - w_ih @ (mean / std)).float()
            self.w_hh_t = model.lstm.weight_hh_l0.T.float().contiguous()
            self.w_out = model.correction.weight.T.float().contiguous()       # (hidden, H)
            # the log-HAR heads as one linear map of the raw features: (features, H)
            w_lin = torch.zeros(amap.shape[0], model.har.weight.shape[0], dtype=torch.float64)
            w_lin[model.har_idx] = model.har.weight.double().T
            self.w_lin = (w_lin if with_head else torch.zeros_like(w_lin)).float().contiguous()
            self.b_out = (model.correction.bias.double()
                          + (model.har.bias.double() if with_head else 0.0)).numpy()  # (H,)
        self._expanded: dict[int, tuple] = {}
        self.window = window
        self.hidden = model.lstm.hidden_size
        # numpy copies for the streaming step, transposed (units x sequences, each gate a contiguous
        # block of rows) and reordered to (input, forget, output, cell): one sigmoid covers the three
        # sigmoid gates and one tanh the cell gate
        hid = self.hidden
        order = np.r_[0: 2 * hid, 3 * hid: 4 * hid, 2 * hid: 3 * hid]
        self._w_ih = np.ascontiguousarray(self.w_ih_t.numpy()[:, order].T)        # (4h, features)
        self._w_hh = np.ascontiguousarray(self.w_hh_t.numpy()[:, order].T)        # (4h, h)
        self._b = self.bias.numpy()[order].copy()
        self._w_out = np.ascontiguousarray(self.w_out.numpy().T)                   # (H, h)
        self._w_lin = np.ascontiguousarray(self.w_lin.numpy().T)                   # (H, features)
        self._gates = np.empty((4 * hid, window), np.float32)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((self.hidden, self.window), np.float32)   # streaming state, transposed
        self._c = np.zeros((self.hidden, self.window), np.float32)
        self._n = 0

    def _weights(self, m: int) -> tuple:
        """The weight matrices as (m, ., .) views for batched products (cached per m)."""
        if m not in self._expanded:
            self._expanded[m] = tuple(w.expand(m, -1, -1) for w in (self.w_ih_t, self.w_hh_t, self.w_out, self.w_lin))
        return self._expanded[m]

    def _step(self, h: torch.Tensor, c: torch.Tensor, x: torch.Tensor, k: int) -> tuple:
        """Advance every in-flight sequence by bar ``x`` (chunks x features); read out row ``k``."""
        hid = self.hidden
        w_ih, w_hh, w_out, _ = self._weights(h.shape[0])
        # per-sequence bmm, never one matmul over all chunks: the rounding of a row must not
        # depend on how many chunks run beside it
        proj = torch.bmm(x.unsqueeze(1), w_ih).add_(self.bias)
        gates = torch.bmm(h, w_hh).add_(proj)
        sig = torch.sigmoid(gates)                       # input, forget, (cell), output gates
        c = torch.addcmul(sig[..., hid: 2 * hid] * c, sig[..., :hid], torch.tanh(gates[..., 2 * hid: 3 * hid]))
        h = sig[..., 3 * hid:] * torch.tanh(c)
        out = torch.bmm(h[:, k: k + 1], w_out)[:, 0, :]
        h[:, k].zero_()                                  # this sequence restarts with the next bar
        c[:, k].zero_()
        return h, c, out

    def update(self, x: np.ndarray) -> np.ndarray:
        """Feed one bar's raw features; the log-variance forecasts (H,) of the window ending here."""
        self._n += 1
        k = self._n % self.window
        hid = self.hidden
        xt = np.asarray(x, dtype=np.float32)
        gates = np.matmul(self._w_hh, self._h, out=self._gates)
        gates += (self._w_ih @ xt + self._b)[:, None]
        sig = gates[: 3 * hid]                           # input, forget, output gates: sigmoid in place
        np.negative(sig, out=sig)
        np.minimum(sig, 80.0, out=sig)                   # no float32 overflow in exp: sigmoid(-80) ~ 2e-35
        np.exp(sig, out=sig)
        sig += 1.0
        np.reciprocal(sig, out=sig)
        cell = np.tanh(gates[3 * hid:], out=gates[3 * hid:])
        c = self._c
        c *= sig[hid: 2 * hid]
        cell *= sig[:hid]
        c += cell
        h = self._h
        np.tanh(c, out=h)
        h *= sig[2 * hid: 3 * hid]
        out = self._w_out @ h[:, k] + self._w_lin @ xt
        h[:, k] = 0.0                                    # this sequence restarts with the next bar
        c[:, k] = 0.0
        return out.astype(np.float64) + self.b_out

    @torch.inference_mode()
    def run(self, features: np.ndarray, chunks: int = CHUNKS) -> np.ndarray:
        """Log-variance forecasts ``(n, H)`` for every row of a feature matrix (rows before W are invalid)."""
        n, w = len(features), self.window
        out = np.full((n, len(self.b_out)), np.nan)
        if n < w:
            return out
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        size = -(-(n - w + 1) // chunks)                       # outputs per chunk
        starts = np.arange(w - 1, n, size)                     # first output of each chunk
        lead = starts - (w - 1)                                # where each chunk starts reading
        m = len(starts)
        h = torch.zeros(m, w, self.hidden)
        c = torch.zeros(m, w, self.hidden)
        last = starts + size                                   # exclusive end of each chunk's outputs
        for step in range(size + w - 1):
            rows = np.minimum(lead + step, n - 1)
            xs = x[torch.from_numpy(rows)]
            h, c, y = self._step(h, c, xs, (step + 1) % w)
            if step >= w - 1:
                pos = lead + step
                keep = pos < np.minimum(last, n)
                har = torch.bmm(xs[:, None, :], self._weights(len(xs))[3])[:, 0, :]
                y = (y + har).double().numpy() + self.b_out
                out[pos[keep]] = y[keep]
        return out
