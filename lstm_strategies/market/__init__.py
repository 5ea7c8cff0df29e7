"""Exogenous series known at a bar's close: implied volatility (DVOL) loading, checks, causal lookups,
and the input kinds forecasters declare."""
