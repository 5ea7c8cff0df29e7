"""Walk-forward training: every forecast comes from a model trained before it."""

from __future__ import annotations

import pandas as pd

from lstm_strategies.training import TrainConfig
from lstm_strategies.walkforward import fold_ends, walk_forward


def test_fold_ends_expand_every_n_months():
    index = pd.date_range("2019-01-01", "2021-03-01", freq="1D", tz="UTC")
    ends = fold_ends(index, "2019-12-31", 6)
    assert [e.date().isoformat() for e in ends] == ["2019-12-31", "2020-06-30", "2020-12-31"]


def test_walk_forward_forecasts_are_out_of_sample(tmp_path, capsys):
    cfg = TrainConfig(window=10, hidden_size=4, max_epochs=2, patience=1, calendar="equity")
    path = walk_forward("arch:sp500", "2008-12-31", every_months=48, config=cfg, out=tmp_path, members=1,
                        workers=2)
    forecasts = pd.read_csv(path, index_col=0, parse_dates=True)
    assert forecasts["fold_train_end"].nunique() == 3
    train_end = pd.to_datetime(forecasts["fold_train_end"], utc=True)
    assert (forecasts.index > train_end).all()              # never forecast a date it trained on
    assert (forecasts.index <= train_end + pd.DateOffset(months=48)).all()  # each fold covers its block
    assert not forecasts.index.duplicated().any()
    assert forecasts.index[0] > pd.Timestamp("2008-12-31", tz="UTC")
    assert forecasts["var"].notna().mean() > 0.99
    assert len(list(tmp_path.glob("fold_*/model.safetensors"))) == 3
    assert "walk-forward out-of-sample QLIKE" in capsys.readouterr().out
