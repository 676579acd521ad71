"""Gradient methods: how a step's task gradients on the shared parameters combine (combine.py: the registry of
`train.method` and each method, which says whether it needs the task gradients apart), the per-task Jacobian they are
written into (jacobian.py), and the step's backward pass that forms it or runs one summed backward (backward.py)."""
