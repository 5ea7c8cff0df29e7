"""Does a fold train to the same weights everywhere? BTC's first self-refitting fold at several thread counts.

Trains the fold that ships for BTC to 2021-12-31 (``lstm_refit``'s race defaults, 3 seeds) once per
``--threads`` value and prints the SHA-256 of its weights, its validation QLIKE and whether it equals the
shipped fold bit for bit. Run it under ``ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2`` to compare
the AVX2 kernels with the machine's default (both must be set before Python starts).

    python benchmarks/fold_determinism.py [--threads 1 2 4 8 16]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

import torch

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.features.realized import FEATURE_NAMES
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.folds import find_fold, fold_key
from lstm_strategies.models.training import TrainConfig, train_ensemble


def digest(network) -> str:
    return hashlib.sha256(b"".join(v.numpy().tobytes() for v in network.state_dict().values())).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2, 4, 8])
    args = parser.parse_args()
    df = load_dataset("btc_usdt_1h")
    f = make_forecaster("lstm_refit", "crypto", refit_every="6M", first_train_end="2021-12-31").fit(df)
    end, config = f._ends(df.index)[0], f._train_config()
    seen = df[df.index <= end]
    shipped = find_fold(fold_key(seen, end, config, f.members), None, FEATURE_NAMES)[0]
    print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}, ATEN_CPU_CAPABILITY="
          f"{os.environ.get('ATEN_CPU_CAPABILITY', '')!r}; shipped fold {digest(shipped)}")
    for threads in args.threads:
        started = time.perf_counter()
        result = train_ensemble(seen, str(end), TrainConfig(**{**config, "threads": threads}), members=f.members,
                                progress=False)
        same = all(torch.equal(v, shipped.state_dict()[k]) for k, v in result.model.state_dict().items())
        print(f"{threads:2d} threads: weights {digest(result.model)}, validation QLIKE "
              f"{result.card.metrics['val_qlike']:.8f}, {'the shipped fold' if same else 'OTHER WEIGHTS'} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
