"""Statistical tests on numbers alone (numpy, scipy, statsmodels, arch): bootstrap tests of Sharpe
differences, forecast losses and tests (QLIKE, Mincer-Zarnowitz, Diebold-Mariano, the MCS)."""
