"""One run: the run configuration, the Lightning system, Trainer set-up, devices
and DDP, checkpoints, preflight, diagnostics, progress lines."""
