"""Built-in model plugins of rnnbench (installed as `rnnbench_models`)."""
