"""Step 2 (table): forecast bias in VARIANCE on <=2022 (origins whose 30-day target ends by 2022-12-31).

For each forecaster: mean(RV)/mean(F) (unbiasedness in variance, what a variance strike needs),
mean(RV/F) (the QLIKE first-order condition), median(RV/F), mean log(RV/F), and the residual
variance of log(RV/F) (its exp(s^2/2) is the Jensen gap between a log-median and a mean forecast).
Also the implied variance (DVOL^2*30/365) as a 'forecast' (its bias is the variance risk premium).
"""
import numpy as np, pandas as pd
from varswap import load_panel, FORECASTERS

rows = []
for asset in ["btc", "eth"]:
    p = load_panel(asset)
    p["f_implied"] = (p["dvol"] / 100) ** 2 * 30 / 365
    windows = {"2019-07..2022-12 (log-HAR/EWMA only)": ("2019-07-01", "2022-12-01"),
               "2021-03-24..2022-12-01 (selection)": ("2021-03-24", "2022-12-01"),
               "2022 origins (bundled LSTM out of sample)": ("2022-01-01", "2022-12-01")}
    for wname, (a, b) in windows.items():
        q = p.loc[a:b]
        for name in ["lstm_sel", "lstm", "lstm2020", "log_har", "ewma", "har_iv", "implied"]:
            y, f = q["rv30"], q[f"f_{name}"]
            ok = y.notna() & f.notna()
            if ok.sum() < 60:
                continue
            if name == "lstm" and a < "2022-01-01":
                continue  # in sample on 2021
            if name == "lstm2020" and b > "2022-12-01":
                continue
            y, f = y[ok], f[ok]
            lr = np.log(y / f)
            rows.append({"asset": asset, "window": wname, "forecaster": name, "n": int(ok.sum()),
                         "mean(RV)/mean(F)": y.mean() / f.mean(), "mean(RV/F)": (y / f).mean(),
                         "median(RV/F)": (y / f).median(), "mean log(RV/F)": lr.mean(),
                         "var log(RV/F)": lr.var(), "exp(var/2)": np.exp(lr.var() / 2)})
t = pd.DataFrame(rows)
pd.set_option("display.width", 200)
print(t.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
t.to_csv("out/bias.csv", index=False)
