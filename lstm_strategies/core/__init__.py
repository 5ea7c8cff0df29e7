"""The bottom floor: errors, the registry and plugins, declared parameters and metrics, bounded reads,
atomic writes, headless plots and the task executors. Nothing here imports another layer."""
