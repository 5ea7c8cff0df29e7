"""Stage 1 for the optional combination: HAR-IV + log(LSTM forecast) refit monthly on rows where the
LSTM is out of sample. The race combines the bundled LSTM (trained to 2021-12-31) fit on rows from
2022-01-01; its 2022 analogue here is the same library recipe trained to 2020-12-31, fit on rows
from 2021-01-01, scored on the 2022 validation origins.
    python validate_combo.py   ->  out/val_combo.csv
"""
import torch

torch.set_num_threads(1)
import pandas as pd  # noqa: E402

import har_iv as HI  # noqa: E402
import ivfeatures as F  # noqa: E402
from lstm_strategies.forecasters.lstm import LSTMForecaster  # noqa: E402
from lstm_strategies.training import TrainConfig, train_ensemble  # noqa: E402


def main():
    tables = []
    for asset in ("btc", "eth"):
        df, iv = F.load(asset, F.VAL_END)
        now, _ = F.iv_at_bars(df, iv)
        feats = F.base_features(df)
        lh = HI.log_har(df)
        hiv, _ = HI.har_iv(df, now, feats, lh)
        res = train_ensemble(df, "2020-12-31", TrainConfig(threads=1), members=3, progress=False)
        lstm = LSTMForecaster.from_network(res.model, res.card).fit(df).predict_batch(df)
        combo = HI.har_iv_combo(df, now, lstm, "2021-01-01", feats, hiv)
        pos = F.origins(df, F.VAL_START, F.VAL_END)
        t = F.qlike_table(F.targets(df), pos, {"log_har": lh, "har_iv": hiv, "lstm_2020": lstm, "combo": combo})
        t.insert(0, "asset", asset)
        tables.append(t)
    out = pd.concat(tables)
    out.to_csv(F.OUT / "val_combo.csv")
    print(out[["asset", "r1", "r7", "r30"]].round(4).to_string())


if __name__ == "__main__":
    main()
