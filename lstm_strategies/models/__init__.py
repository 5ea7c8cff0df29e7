"""The LSTM: the network, its checkpoints (safetensors + a sealed JSON card), training (single, pooled,
implied-vol, folds, fine-tuning) and the LSTM forecasters, which register under the names ``lstm``,
``lstm_iv``, ``lstm_refit`` and ``lstm_iv_refit``. torch is imported only when a network is built."""
