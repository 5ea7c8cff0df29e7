"""The cash ledger: every unit a position moves over its life, and nothing else, reaches the broker."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_strategies.core.errors import BacktestError
from lstm_strategies.trading.ledger import CashLedger


class FakeBroker:
    def __init__(self):
        self.added: list[float] = []

    def add_cash(self, cash: float) -> None:
        self.added.append(cash)


def test_the_sum_of_daily_marks_is_the_settled_payoff_less_costs_and_fees():
    rng = np.random.default_rng(7)
    broker = FakeBroker()
    ledger = CashLedger(broker, cash_per_unit=2.5)
    daily, expected = [], 0.0
    for day in range(200):
        for pos in list(ledger.live):
            if day - pos.opened >= 30:
                payoff, fee = float(rng.normal(0, 100)), float(rng.uniform(0, 5))
                ledger.settle(pos, payoff, day, fee=fee)
                expected += payoff - pos.cost - pos.fees
            else:
                ledger.mark(pos, float(rng.normal(0, 100)), margin=float(rng.uniform(0, 50)))
        if day < 150:
            pos = ledger.open(day, day, quantity=float(rng.normal()), value=float(rng.normal(0, 10)),
                              cost=float(rng.normal(0, 20)), fee=float(rng.uniform(0, 3)), margin=10.0)
        daily.append(ledger.take_pnl())
    assert not ledger.live and len(ledger.closed) == 150
    assert sum(daily) == pytest.approx(expected, abs=1e-9)
    assert sum(p.pnl for p in ledger.closed) == pytest.approx(expected, abs=1e-9)
    assert sum(broker.added) == pytest.approx(2.5 * expected, abs=1e-8)       # in cash
    assert ledger.fees == pytest.approx(sum(p.fees for p in ledger.closed))
    assert ledger.margin() == 0.0 and ledger.gross() == 0.0


def test_a_position_books_its_entry_spread_on_the_first_day():
    ledger = CashLedger()
    pos = ledger.open("swap", 0, quantity=1 / 30, value=-5.0, fee=1.5, margin=3.0)
    assert ledger.take_pnl() == -6.5 and ledger.pending == -6.5     # marked at mid: the spread is lost at once
    assert ledger.margin() == 3.0 and ledger.gross() == pytest.approx(1 / 30)
    assert ledger.spread == 5.0 and ledger.fees == 1.5
    ledger.new_bar()
    assert ledger.pending == 0.0                                    # the broker has it now
    assert ledger.mark(pos, 10.0) == 15.0
    assert ledger.settle(pos, 4.0, 30, fee=0.5) == pytest.approx(4.0 - 1.5 - 0.5)
    assert ledger.take_pnl() == pytest.approx(15.0 - 6.5)
    assert pos.settled == 30 and pos.payoff == 4.0


def test_a_loss_beyond_the_capital_is_one_clear_error():
    CashLedger.check_capital(1.0, 100.0, "2024-08-05", "variance_swap", "Trade less.")
    with pytest.raises(BacktestError, match=r"on 2024-08-05 the account's value fell to -3.00 from 100.00: a loss "
                                            r"exceeded the capital. Trade less."):
        CashLedger.check_capital(-3.0, 100.0, "2024-08-05", "variance_swap", "Trade less.")
