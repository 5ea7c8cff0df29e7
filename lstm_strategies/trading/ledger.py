"""Cash-settled positions held beside a Backtrader broker (variance swaps, options): open, mark, settle.

The broker holds no such position; every change in a position's value is paid in cash through
``broker.add_cash`` (variation margin), so the account's value is always cash plus the hedge the
strategy trades, and the positions' values are already in it. Accounting, exactly:

* ``open``: the position pays its ``cost`` (a premium; negative when received) and its ``fee``, and is
  marked at ``value`` straight away (a spread shows as a loss on the entry day);
* ``mark``: pays ``new value - previous value``;
* ``settle``: pays ``payoff - previous value - fee`` and closes the position.

So the cash a position moved over its life is ``payoff - cost - fees``, the sum of its daily
mark-to-market P&L. Values are kept in the ledger's own unit (variance points per unit of variance
notional, say); ``cash_per_unit`` converts them to the broker's cash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lstm_strategies.core.errors import BacktestError

__all__ = ["CashLedger", "Position"]


@dataclass
class Position:
    """One cash-settled position (units of the ledger)."""

    key: Any
    opened: Any
    quantity: float
    cost: float
    value: float
    fees: float = 0.0
    margin: float = 0.0
    payoff: float | None = None
    settled: Any = None
    info: dict = field(default_factory=dict)

    @property
    def pnl(self) -> float:
        """P&L so far: the value (the payoff once settled) minus what was paid for it and its fees."""
        return (self.value if self.payoff is None else self.payoff) - self.cost - self.fees


class CashLedger:
    """The cash-settled positions of one strategy and the cash they moved.

    Parameters
    ----------
    broker : Backtrader broker or None
        Where the cash goes (``add_cash``); None keeps the accounting only (tests, notebooks).
    cash_per_unit : float
        Cash per unit of the ledger's values.
    """

    def __init__(self, broker=None, cash_per_unit: float = 1.0):
        self.broker = broker
        self.cash_per_unit = float(cash_per_unit)
        self.live: list[Position] = []
        self.closed: list[Position] = []
        self.total = 0.0        # units paid out (+) or in (-) over the ledger's life
        self.fees = 0.0
        self.spread = 0.0       # units lost at entry between the price paid and the mark (a spread)
        self.pending = 0.0      # cash sent since new_bar(): the broker adds it to its value on the next bar
        self._period = 0.0      # units since take_pnl()

    # -- cash --------------------------------------------------------------------------------------
    def _pay(self, units: float) -> None:
        self.total += units
        self._period += units
        cash = units * self.cash_per_unit
        self.pending += cash
        if self.broker is not None and cash:
            self.broker.add_cash(cash)

    def new_bar(self) -> None:
        """Call at the start of each bar: the broker has added what was sent on the previous one."""
        self.pending = 0.0

    def take_pnl(self) -> float:
        """Units paid since the last call (a day's mark-to-market P&L when called once a day)."""
        out, self._period = self._period, 0.0
        return out

    # -- positions ---------------------------------------------------------------------------------
    def open(self, key, when, quantity: float, value: float, cost: float = 0.0, fee: float = 0.0,
             margin: float = 0.0, **info) -> Position:
        """A new position marked at ``value``, bought for ``cost`` (received when negative) plus ``fee``."""
        pos = Position(key, when, quantity, cost, value, fee, margin, info=info)
        self.fees += fee
        self.spread += cost - value
        self._pay(value - cost - fee)
        self.live.append(pos)
        return pos

    def mark(self, pos: Position, value: float, margin: float | None = None) -> float:
        """Mark ``pos`` at ``value``; returns the change paid."""
        change = value - pos.value
        pos.value = value
        if margin is not None:
            pos.margin = margin
        self._pay(change)
        return change

    def settle(self, pos: Position, payoff: float, when, fee: float = 0.0) -> float:
        """Settle ``pos`` at ``payoff`` less a settlement ``fee``; returns its P&L over its life."""
        pos.fees += fee
        self.fees += fee
        self._pay(payoff - pos.value - fee)
        pos.value, pos.payoff, pos.settled, pos.margin = payoff, payoff, when, 0.0
        self.live.remove(pos)
        self.closed.append(pos)
        return pos.pnl

    # -- risk --------------------------------------------------------------------------------------
    def margin(self) -> float:
        """Collateral the live positions hold (units)."""
        return sum(p.margin for p in self.live)

    def gross(self) -> float:
        """Sum of the live positions' absolute quantities."""
        return sum(abs(p.quantity) for p in self.live)

    @staticmethod
    def check_capital(equity: float, capital: float, when, what: str, advice: str) -> None:
        """Raise :class:`BacktestError` when the account's ``equity`` is gone: a loss exceeded the capital."""
        if not math.isfinite(equity) or equity <= 0:
            raise BacktestError(f"{what}: on {when} the account's value fell to {equity:,.2f} from {capital:,.2f}: "
                                f"a loss exceeded the capital. {advice}")
