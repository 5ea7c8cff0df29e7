"""The command line: inspect, models, train, backtest, compare, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstm_strategies.cli.app import main


def test_data_inspect(capsys):
    assert main(["data", "inspect", "btc_usdt_1h"]) == 0
    out = capsys.readouterr().out
    assert "rows        65,653" in out
    assert "timeframe   1h" in out
    assert "gaps        20 (59 missing bars); longest 0 days 10:00:00" in out
    assert "2021   86.2%" in out  # annualised volatility by calendar year


def test_bad_file_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "x.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n2020-01-01,1,2,0.5,1,-3\n2020-01-02,1,2,0.5,1,3\n")
    assert main(["data", "inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "line 2, column 'volume': volume is negative" in err
    assert "Traceback" not in err


def test_models_lists_the_bundled_models(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "btc-1h" in out and "spx-1d" in out and "trained 2019-01-01 .. 2021-12-31" in out


def test_train_writes_a_loadable_checkpoint(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--data", "arch:sp500", "--train-end", "2006-12-31", "--calendar", "equity",
                 "--window", "10", "--hidden", "4", "--epochs", "2", "--ensemble", "2", "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["architecture"]["hidden_size"] == 8 and card["architecture"]["ensemble_members"] == 2
    assert card["calendar"] == "equity"
    from lstm_strategies import load_pretrained

    assert load_pretrained(out).window == 10


def test_train_implied_writes_an_lstm_iv_that_reads_its_series(tmp_path, capsys, btc_hourly):
    from conftest import window

    bars = tmp_path / "bars.csv"
    window(btc_hourly, "2020-06-01", "2021-08-10").to_csv(bars, index_label="timestamp")
    out = tmp_path / "iv"
    assert main(["train", "--data", str(bars), "--implied", "btc_dvol_daily", "--train-end", "2021-07-31",
                 "--window", "12", "--hidden", "2", "--epochs", "1", "--ensemble", "1", "--val-days", "45",
                 "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["inputs"] == ["implied_vol"] and card["training"]["epochs"] == 1
    assert card["training"]["implied_source"] == "btc_dvol_daily"
    assert "corrections kept at" in capsys.readouterr().out
    assert main(["train", "--data", str(bars), "--implied", "btc_dvol_daily", "--train-end", "2021-07-31",
                 "--walk-forward", "--out", str(tmp_path / "wf")]) == 2
    assert "--walk-forward and --train-start do not apply" in capsys.readouterr().err


def test_train_on_several_datasets_writes_one_pooled_model_with_the_prior(tmp_path, capsys, btc_hourly, eth_hourly):
    from conftest import window

    files = []
    for name, df in (("btc", btc_hourly), ("eth", eth_hourly)):
        files.append(tmp_path / f"{name}.csv")
        window(df, "2020-06-01", "2021-03-01").to_csv(files[-1], index_label="timestamp")
    data, out = f"{files[0]},{files[1]}", tmp_path / "pooled"
    assert main(["train", "--data", data, "--train-end", "2021-01-31", "--window", "12", "--hidden", "2", "--epochs",
                 "1", "--ensemble", "1", "--val-days", "60", "--shrink-k", "100,200,300", "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["head_prior"]["k_days"] == [100.0, 200.0, 300.0] and len(card["pretraining"]["coins"]) == 2
    assert "pooled on" in capsys.readouterr().out
    for argv, message in ((["--data", f"{data},{files[0]}"], "several distinct ones"),
                          (["--data", data, "--walk-forward"], "--walk-forward and --implied take one dataset"),
                          (["--data", str(files[0]), "--shrink-k", "1,2,3"], "give several --data datasets"),
                          (["--data", data, "--shrink-k", "1,2"], "one k in 0..1e6 days per horizon")):
        assert main(["train", *argv, "--train-end", "2021-01-31", "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err


def test_backtest_main_job(tmp_path, capsys):
    assert main(["backtest", "--config", "backtests/spx_vol_target_demo.toml", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "spx_vol_target_demo" in out and "buy and hold" in out
    assert (tmp_path / "tearsheet.html").exists()


def test_leakage_is_a_clear_error(tmp_path, capsys):
    text = open("backtests/spx_vol_target_demo.toml").read().replace('start = "2011-01-01"', 'start = "2010-10-01"')
    (tmp_path / "leak.toml").write_text(text)
    assert main(["backtest", "--config", str(tmp_path / "leak.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "are in-sample" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_writes_table_and_index(tmp_path, capsys):
    demo = "backtests/spx_vol_target_demo.toml"
    text = open(demo).read().replace("spx_vol_target_demo", "spx_vol_target_ewma").replace(
        'forecaster = "lstm"', 'forecaster = "ewma"').replace('forecaster_params = { model = "spx-1d" }', "")
    (tmp_path / "ewma.toml").write_text(text)
    assert main(["compare", demo, str(tmp_path / "ewma.toml"), "--out", str(tmp_path / "cmp")]) == 0
    index = (tmp_path / "cmp" / "index.html").read_text()
    assert 'href="spx_vol_target_demo/tearsheet.html"' in index and "spx_vol_target_ewma" in index
    assert "Sharpe" in (tmp_path / "cmp" / "comparison.md").read_text()


def test_version_and_help_show_defaults(capsys):
    from lstm_strategies import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "(default: 48)" in text and "(default: 0.001)" in text


def test_output_piped_into_head_ends_quietly(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(f"{sys.executable} -m lstm_strategies.cli.app data inspect btc_usdt_1h | head -1",
                          shell=True, capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.startswith("file")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_a_bad_override_of_the_data_is_said_in_cli_terms(tmp_path, capsys):
    daily = tmp_path / "daily.csv"
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.data.load import resample_ohlcv

    df = resample_ohlcv(load_dataset("btc_usdt_1h"), "1D")
    out = df.copy()
    out.index = out.index.strftime("%Y-%m-%d")
    out.to_csv(daily, index_label="timestamp")
    assert main(["backtest", "--config", "backtests/btc_vol_target_lstm.toml", "--data", str(daily),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bars are 1D apart" in err and "Traceback" not in err


@pytest.mark.slow
def test_readme_main_job_on_a_year_of_data(tmp_path, capsys):
    """README's main command (the BTC mission), on a shortened copy of the shipped bars."""
    import re
    from pathlib import Path

    from lstm_strategies.data.datasets import load_dataset

    readme = Path("README.md").read_text()
    command = re.search(r"lstm-strategies compare (\S+) (\S+) --out (\S+)", readme)
    assert command, "README's main job is a compare of two configs"
    df = load_dataset("btc_usdt_1h")
    short = df[(df.index >= "2021-01-01") & (df.index < "2022-04-01")].copy()
    short.index = short.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    short.to_csv(tmp_path / "btc.csv", index_label="timestamp")
    assert main(["compare", command.group(1), command.group(2), "--data", str(tmp_path / "btc.csv"),
                 "--out", str(tmp_path / "mission")]) == 0
    for name in ("btc_vol_target_lstm", "btc_synthetic_put_lstm"):
        assert (tmp_path / "mission" / name / "tearsheet.html").stat().st_size > 100_000
    table = (tmp_path / "mission" / "comparison.md").read_text()
    assert "buy and hold" in table and "nan" not in table.lower()


@pytest.mark.parametrize("out", [".", "user_folder", "~", "/"])
def test_backtest_never_replaces_a_folder_it_did_not_write(tmp_path, monkeypatch, capsys, out):
    """`backtest --out .` from a folder of user files deleted them (and exited 0) before 0.3.0."""
    config = str(Path("backtests/btc_vol_target_ewma.toml").resolve())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "keep.txt").write_text("keep")
    (tmp_path / "user_folder" / "sub").mkdir(parents=True)
    (tmp_path / "user_folder" / "sub" / "y.txt").write_text("y")
    assert main(["backtest", "--config", config, "--out", out]) == 2
    assert "refusing to write the outputs" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "keep"
    assert (tmp_path / "user_folder" / "sub" / "y.txt").read_text() == "y"


@pytest.mark.parametrize("name", ["../../../x", "a/b", "..", "x" * 300])
def test_a_config_name_never_becomes_a_path_outside_the_outputs(tmp_path, monkeypatch, capsys, name):
    text = Path("backtests/btc_vol_target_ewma.toml").read_text().replace('"btc_vol_target_ewma"', repr(name))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text(text)
    for argv in (["backtest", "--config", "bad.toml"], ["compare", "bad.toml", "--out", "cmp"]):
        assert main(argv) == 2
        assert "bad.toml: name = " in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]


def test_an_over_long_file_name_is_one_clear_line(tmp_path, capsys):
    long = str(tmp_path / ("x" * 300))
    for argv in (["data", "inspect", long], ["backtest", "--config", long + ".toml"],
                 ["backtest", "--config", "backtests/btc_vol_target_ewma.toml", "--out", long]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and ("over 255 bytes" in err or "too long" in err) and "Traceback" not in err


def test_configs_are_positional_everywhere_and_the_old_option_still_works(tmp_path, capsys):
    from lstm_strategies.cli.app import build_parser
    from lstm_strategies.cli.runs import _config_path

    for argv in (["backtest", "backtests/btc_vol_target_lstm.toml"], ["backtest", "--config",
                                                                      "backtests/btc_vol_target_lstm.toml"]):
        assert _config_path(build_parser().parse_args(argv)) == "backtests/btc_vol_target_lstm.toml"
    assert _config_path(build_parser().parse_args(["sweep", "backtests/sweeps/btc_vol_target_grid.toml"])) \
        == "backtests/sweeps/btc_vol_target_grid.toml"
    assert main(["backtest", "backtests/spx_vol_target_demo.toml", "--out", str(tmp_path / "demo")]) == 0
    assert (tmp_path / "demo" / "tearsheet.html").exists()
    assert main(["backtest"]) == 2
    assert "give a config file, e.g. `lstm-strategies backtest" in capsys.readouterr().err


def test_unknown_dataset_names_list_the_shipped_ones(capsys):
    assert main(["data", "inspect", "btc_usdt_1d"]) == 2
    err = capsys.readouterr().err
    assert "btc_usdt_1h" in err and "eth_usdt_1h" in err and "btc_dvol_daily" in err
    assert main(["data", "inspect", "nowhere.csv"]) == 2
    assert "shipped dataset: btc_usdt_1h" in capsys.readouterr().err


def test_data_inspect_reads_an_implied_vol_series(capsys):
    assert main(["data", "inspect", "eth_dvol_daily"]) == 0
    out = capsys.readouterr().out
    assert "implied volatility" in out and "1,840" in out and "known at the end of its period" in out


def test_help_shows_each_default_once_and_no_markup(capsys):
    from lstm_strategies.cli.app import build_parser

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "lstm-strategies backtest CONFIG.toml" in top
    for command in ("train", "backtest", "evaluate", "sweep", "compare"):
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        text = capsys.readouterr().out
        assert "(default: None)" not in text
        assert not [line for line in text.splitlines() if line.count("default") > 1], command
