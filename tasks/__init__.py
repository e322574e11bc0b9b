"""Built-in task plugins of rnnbench (installed as `rnnbench_tasks`)."""
