"""A run's life in its workdir: the lease, checkpoints (periodic and best), resuming and
loading a trained run, the config history, preemption, metric logs and the outputs (grids,
evaluations, curves)."""
