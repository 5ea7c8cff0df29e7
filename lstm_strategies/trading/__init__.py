"""Backtrader glue: the list-based feed, commission and margin broker, the forecast indicators, option
pricing, the cash ledger beside the broker and the variance-trading rules and costs."""
