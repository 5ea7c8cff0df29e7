"""The plugin's tearsheet and dashboard in a real headless browser: what a reader sees, and no request
leaving the machine. Every request Chromium would send goes to a local trap posing as its proxy; the
browser's own background requests (its updater, its account service: it sends them for an empty page
too) are learnt from an empty page opened the same way, and the report may ask for nothing else."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lstm_strategies.api import compare, load_config

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); the browser check is skipped")
    return found


class Trap:
    """A local TCP listener posing as the browser's proxy: any request the page makes lands here."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.requests.append(conn.recv(4096).decode("latin-1").split("\r\n", 1)[0])
                except OSError:
                    self.requests.append("(connection)")

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def rendered(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM after Chromium loaded ``page``, and the requests it tried to send anywhere."""
    trap = Trap()
    try:
        cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
               "--no-first-run", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
               "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
               f"--user-data-dir={tmp_path / 'profile'}",
               f"--proxy-server=http://127.0.0.1:{trap.port}", "--proxy-bypass-list=<-loopback>",
               "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    finally:
        trap.close()
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout, trap.requests


def hosts(requests: list[str]) -> set[str]:
    """The hosts of proxy request lines (``GET http://host/...`` or ``CONNECT host:443``)."""
    out = set()
    for line in requests:
        parts = line.split()
        target = parts[1] if len(parts) > 1 else line
        out.add(target.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0])
    return out


@pytest.fixture(scope="module")
def browser_own(tmp_path_factory) -> set[str]:
    """Hosts Chromium contacts by itself, for an empty page."""
    folder = tmp_path_factory.mktemp("blank")
    (folder / "blank.html").write_text("<!doctype html><html><body>empty</body></html>")
    return hosts(rendered(folder / "blank.html", folder)[1])


class _Images(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.alts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt") or "")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """A vol-target run and a synthetic put on 2022 (EWMA), compared: two tearsheets and a dashboard."""
    out = tmp_path_factory.mktemp("dash") / "cmp"
    window = {"data.start": "2021-10-01", "data.end": "2022-12-31"}
    configs = [load_config("backtests/btc_vol_target_ewma.toml", **window),
               load_config("backtests/btc_synthetic_put_ewma.toml", **window)]
    compare(configs, out, progress=False)
    return out


def test_a_tearsheet_shows_te30_the_forecast_and_the_provenance(comparison, browser_own, tmp_path):
    dom, requests = rendered(comparison / "btc_vol_target_ewma" / "tearsheet.html", tmp_path)
    assert not hosts(requests) - browser_own, f"the page asked the network for {requests}"
    assert "What the forecast did" in dom and "TE30 (pts)" in dom and "Provenance" in dom
    assert "Sharpe difference against the baseline" in dom and "data fingerprint" in dom
    alts = _Images(dom).alts
    assert "forecast term structure against realized volatility" in alts
    assert "realized volatility against the target (TE30)" in alts
    assert "Key Performance Metrics" in dom  # QuantStats' own report is still there


def test_an_option_tearsheet_shows_its_hedging_error(comparison, browser_own, tmp_path):
    dom, requests = rendered(comparison / "btc_synthetic_put_ewma" / "tearsheet.html", tmp_path)
    assert not hosts(requests) - browser_own, f"the page asked the network for {requests}"
    assert "Hedge err sd" in dom and "hedging error per roll" in _Images(dom).alts


def test_the_dashboard_puts_the_runs_side_by_side(comparison, browser_own, tmp_path):
    dom, requests = rendered(comparison / "index.html", tmp_path)
    assert not hosts(requests) - browser_own, f"the page asked the network for {requests}"
    assert "TE30 (pts)" in dom and "Hedge err sd" in dom
    alts = _Images(dom).alts
    assert "btc_vol_target_ewma: growth of 1" in alts and "btc_synthetic_put_ewma: forecast against realized" in alts
    assert 'href="btc_vol_target_ewma/tearsheet.html"' in dom


def test_the_trap_sees_a_page_that_asks_the_network(browser_own, tmp_path):
    """The check can fail: a page with a remote image is caught."""
    page = tmp_path / "leaky.html"
    page.write_text('<!doctype html><html><body><img src="http://example.org/pixel.png"></body></html>')
    assert "example.org" in hosts(rendered(page, tmp_path)[1]) - browser_own


def test_the_section_shows_every_number_in_its_unit():
    from lstm_strategies.strategies import VolTargetStrategy

    from lstm_strategies.reports.run_report import (
        BaselineComparison,
        Costs,
        Performance,
        Provenance,
        RunReport,
        Trading,
    )
    from lstm_strategies.reports.tearsheet import section

    def performance(**values):
        fields = dict.fromkeys(("sharpe", "sortino", "cagr", "volatility", "max_drawdown", "cvar_95", "calmar",
                                "total_return", "first_day", "last_day"))
        return Performance(**{**fields, "days": 1613, **values})

    report = RunReport(
        name="x", strategy=VolTargetStrategy, performance=performance(cvar_95=-0.0455),
        trading=Trading(13.86, 1200, 0, {"mean": 0.8018, "p05": 0.5, "median": 0.8, "p95": 0.9899, "max": 0.9906},
                        0.99),
        costs=Costs(7693.4, 3586.2, 0.0, {}, 0.0251), borrowing={},
        decision={"te30": 0.081, "realized_vol": 0.379, "target_vol": 0.4, "rolling_vol_p05": 0.2497,
                  "rolling_vol_p95": 0.4941, "te30_days": 1613, "capital_points": 32540.0,
                  "points": {"worst_30d": -949.2}},
        baseline=BaselineComparison("constant 0.80", performance(sharpe=0.3678, cagr=0.06886, volatility=0.4158,
                                                                 max_drawdown=-0.5739),
                                    {"diff": -0.08494, "pvalue": 0.379}, {"te30": 0.1273}),
        versus_buy_and_hold={"diff": -0.07642, "pvalue": 0.467}, warnings=(),
        provenance=Provenance({"model_train_window": ["2019-01-01 00:00:00+00:00",
                                                      "2021-12-31 23:59:59.999999999+00:00"]},
                              "0.0.86", 365, "x", {}, {}), title="x")
    cells = Cells()
    cells.feed(section(report, []))
    shown = dict(zip(cells.cells[0::2], cells.cells[1::2], strict=False))
    assert shown["TE30 (pts)"] == "8.1" and shown["baseline TE30 (pts)"] == "12.7"
    assert (shown["Target vol"], shown["30-day vol, 5th percentile"], shown["Days in TE30"]) == ("40.0%", "25.0%",
                                                                                                 "1,613")
    assert (shown["baseline Sharpe"], shown["Sharpe difference against the baseline (daily account returns)"]) == (
        "0.37", "-0.08")
    tests = {k.split(":")[0]: v for k, v in shown.items() if k.startswith("p-value against")}
    assert tests == {"p-value against the baseline": "0.379", "p-value against buy-and-hold": "0.467"}
    assert shown["baseline CAGR"] == "6.9%"
    assert (shown["commission paid"], shown["turnover per year (books)"]) == ("7,693", "13.9")
    assert shown["weight in the asset: mean / 95th percentile / max"] == "80.18% / 98.99% / 99.06%"
    assert shown["capital points"] == "32,540" and "points" not in shown  # nested tables are not dumped
    assert shown["model trained on"] == "2019-01-01 .. 2021-12-31"  # dates as people read them
    assert any(k.startswith("CVaR 95% of daily returns (historical") and v == "-4.55%" for k, v in shown.items())


class Cells(HTMLParser):
    """The text of every th/td cell, in order."""

    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._open = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._open = False

    def handle_data(self, data):
        if self._open:
            self.cells[-1] += data
