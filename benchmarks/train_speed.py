"""Training time of the bundled btc-1h model: seconds per epoch and to convergence.

Trains the same configuration as ``lstm-strategies train`` (3 seeds merged, early stopping on
the 2021 validation year) and prints the timings. Goal: under 2 minutes on 2 CPU cores.

    python benchmarks/train_speed.py [--threads 1] [--device cpu]

``--threads`` is the training's torch thread count (``TrainConfig.threads``; 1 is what ``train``
uses, and the count changes the trained weights). With ``--compare btc-1h`` the trained weights
are compared with a model's (bundled name or folder): the largest absolute difference per tensor.
"""

from __future__ import annotations

import argparse
import time

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.models.checkpoint import load_checkpoint
from lstm_strategies.models.lstm import resolve_model_path
from lstm_strategies.models.training import TrainConfig, train_ensemble


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare", default=None, help="a model to compare the trained weights with")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    df = load_dataset("btc_usdt_1h")
    cfg = TrainConfig(window=48, hidden_size=8, weight_decay=1e-3, device=args.device, threads=args.threads)
    began = time.perf_counter()
    result = train_ensemble(df, "2021-12-31", cfg, members=args.members, progress=False)
    total = time.perf_counter() - began
    epochs = [h for h in result.history if h["epoch"] > 0]
    per_epoch = sum(
        h2["seconds"] - h1["seconds"] for h1, h2 in zip(result.history, result.history[1:], strict=False)
        if h2["epoch"] == h1["epoch"] + 1 and h1["epoch"] > 0) / max(len(epochs) - args.members, 1)
    print(f"device {args.device}, torch threads {args.threads}, {result.card.metrics['train_rows']:,} training "
          f"windows of {cfg.window} bars")
    print(f"epochs run {len(epochs)} over {args.members} seeds (best {result.card.metrics['member_best_epoch']}); "
          f"{per_epoch:.2f} s per epoch; {total:.1f} s to convergence including data preparation")
    print(f"validation QLIKE {result.card.metrics['val_qlike']:.4f} "
          f"(log-HAR start {result.card.metrics['val_qlike_log_har_init']:.4f})")
    if args.compare:
        reference = load_checkpoint(resolve_model_path(args.compare))[0].state_dict()
        trained = result.model.state_dict()
        worst = max(float((trained[k].float() - reference[k].float()).abs().max()) for k in reference)
        print(f"largest weight difference to {args.compare}: {worst:.3g}")


if __name__ == "__main__":
    main()
