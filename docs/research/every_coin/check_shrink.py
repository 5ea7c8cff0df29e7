"""Check: the shrinkage head with no prior (k = 0, first fit at 180 days) is exactly the library's log-HAR."""
import numpy as np

from common import Panel, load_coin
from lstm_strategies.forecasters import make_forecaster
from shrink import HeadPrior, shrink_head

for coin in ("btc", "eth"):
    df = load_coin(coin)
    p = Panel(df)
    ref = make_forecaster("log_har", "crypto", horizons=[1, 7, 30]).fit(df).predict_batch(df)
    mine = shrink_head(p, None, 0.0, min_train_days=180)
    ok = np.isfinite(ref)
    assert (ok == np.isfinite(mine)).all()
    err = np.max(np.abs(np.log(mine[ok]) - np.log(ref[ok])))
    print(coin, "max |log diff| vs log_har", err)
    assert err < 1e-8
    # with a prior and k = 0 the fits are the own OLS wherever it exists
    prior = HeadPrior(np.zeros(3), np.full((3, 3), 0.3))
    mine0 = shrink_head(p, prior, 0.0, min_train_days=180)
    assert np.allclose(np.log(mine0[ok]), np.log(ref[ok]), atol=1e-8)
print("ok")
