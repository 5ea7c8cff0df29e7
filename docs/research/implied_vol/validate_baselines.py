"""Stage 1 (design, data <= 2022-12-31 only): the non-LSTM forecasters on the 2022 validation year.

Origins 2022-01-01 .. 2022-12-31 whose targets end by 2022-12-31 (bars after 2022-12-31 are never
loaded). Chooses the trailing window W of the level-corrected implied forecaster.
    python validate_baselines.py   ->  out/val_baselines.csv
"""
import torch

torch.set_num_threads(1)
import pandas as pd  # noqa: E402

import har_iv as HI  # noqa: E402
import ivfeatures as F  # noqa: E402
from lstm_strategies.forecasters import make_forecaster  # noqa: E402

WINDOWS = [30, 60, 90, 180, 365, None]


def main():
    tables = []
    for asset in ("btc", "eth"):
        df, iv = F.load(asset, F.VAL_END)
        now, _ = F.iv_at_bars(df, iv)
        feats = F.base_features(df)
        fc = {"log_har": HI.log_har(df)}
        fc["har_iv"], fb = HI.har_iv(df, now, feats, fc["log_har"])
        fc["implied_raw"] = HI.implied_raw(now)
        for w in WINDOWS:
            fc[f"implied_level_{w or 'all'}"] = HI.implied_level(df, now, w)
        fc["lstm_bundled"] = make_forecaster("lstm", model=f"{asset}-1h").fit(df).predict_batch(df)
        pos = F.origins(df, F.VAL_START, F.VAL_END)
        print(asset, "HAR-IV fallback at origins:", int(fb[pos].sum()))
        t = F.qlike_table(F.targets(df), pos, fc)
        t.insert(0, "asset", asset)
        tables.append(t)
    out = pd.concat(tables)
    F.OUT.mkdir(exist_ok=True)
    out.to_csv(F.OUT / "val_baselines.csv")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        print(out)


if __name__ == "__main__":
    main()
