"""Check: pooled training with one coin reproduces the library's train_lstm (one seed, BTC to 2020-12-31)."""

from common import load_coin
from lstm_strategies.training import TrainConfig, train_lstm
from pooled import CoinRows, train_member

df = load_coin("btc")
cfg = TrainConfig(seed=0)
lib = train_lstm(df, "2020-12-31", cfg, progress=False)
net, heads, info = train_member([CoinRows("btc", df, "2020-12-31", cfg)], cfg, "per_coin")
print("library val", lib.card.metrics["val_qlike"], "epoch", lib.card.metrics["best_epoch"])
print("pooled  val", info["val_qlike"], "epoch", info["best_epoch"])
print("head", lib.model.har.weight.detach().numpy().round(4).tolist(), heads[0][0].round(4).tolist())
assert abs(lib.card.metrics["val_qlike"] - info["val_qlike"]) < 2e-3
print("ok")
