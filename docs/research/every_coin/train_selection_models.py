"""Train the four models of the selection, all to 2020-12-31 (validation year 2020, scored on 2021):
btc and eth alone, and btc+eth pooled with per-coin heads and with one shared head.

    python train_selection_models.py        # models/sel_{btc,eth,pooled,pooled_shared}
"""
from common import load_coin, log
from pooled import pretrained

END = "2020-12-31"
SPECS = {"sel_btc": (["btc"], "per_coin"), "sel_eth": (["eth"], "per_coin"),
         "sel_pooled": (["btc", "eth"], "per_coin"), "sel_pooled_shared": (["btc", "eth"], "shared")}


def selection_model(name: str):
    coins, heads = SPECS[name]
    return pretrained(name, lambda: {c: load_coin(c) for c in coins}, END, heads)


if __name__ == "__main__":
    for name in SPECS:
        m = selection_model(name)
        log(f"{name}: kept {m.keep} info {m.meta['member_info']}")
