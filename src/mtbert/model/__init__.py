"""The model: minBERT, checkpoints in the hub layout, poolings, task heads, the multi-task model."""
