"""Post-hoc diagnostics on the race (computed AFTER the race; they change nothing in the frozen design).

1. DM-HLN of LSTM-IV against the bundled LSTM (does DVOL add to the library's model?).
2. ETH 7 days with the gate left open (the 2022 gate closed it at 1.005).
    python posthoc.py   ->  out/posthoc.csv
"""
import torch

torch.set_num_threads(1)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import ivfeatures as F  # noqa: E402
import race  # noqa: E402
import train_iv as T  # noqa: E402
from lstm_strategies.evaluation import diebold_mariano, qlike  # noqa: E402


def main():
    rows = []
    for asset in ("btc", "eth"):
        fr = pd.read_csv(F.OUT / f"race_forecasts_{asset}.csv", index_col=0)
        for h in (1, 7):
            y, a, b = fr[f"rv_{h}d"], fr[f"lstm_iv_{h}d"], fr[f"lstm_bundled_{h}d"]
            rows.append({"asset": asset, "h": h, "what": "lstm_iv vs lstm_bundled",
                         "ratio": qlike(y, a).mean() / qlike(y, b).mean(), "dm_p": diebold_mariano(y, a, b, h)["pvalue"]})
    df, iv = F.load("eth")
    pos = F.origins(df, F.TEST_START, F.TEST_END)
    blob, v = race.load_lstm_iv("eth")
    prep = T.prepare("eth", None, 365, data=(df, iv))
    corr = T.correction(blob, prep, v, pos)
    j = F.HORIZONS.index(7)
    f = prep["heads"]["har"][pos, j] * np.exp(corr[:, j])
    y, lh = F.targets(df)[pos, j], prep["heads"]["har"][pos, j]
    rows.append({"asset": "eth", "h": 7, "what": "ungated lstm_iv vs log_har",
                 "ratio": qlike(y, f).mean() / qlike(y, lh).mean(), "dm_p": diebold_mariano(y, f, lh, 7)["pvalue"]})
    out = pd.DataFrame(rows)
    out.to_csv(F.OUT / "posthoc.csv", index=False)
    print(out.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
