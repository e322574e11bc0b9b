"""Orchestration: Optuna sweeps and horizon studies, one layer of small parts:

    config    the typed sweep configuration (a YAML file overlaid by flags)
    run       run_sweep: check, open the stores, run the pairs, publish
    studies   the storage, one study per (task, model), its best trial
    space     a trial's (or a fixed) run configuration from the search space
    slots     the exact global trial cap (claiming a slot under a storage lock)
    locking   locks shared through the storage (SQLite file locks, server locks)
    search    one pair's search loop and trial objective
    finals    one pair's final seeds, shared between workers
    progress  progress lines with the time left
    parent    the parent tracked run: identity, settings, the published leaderboard
    workers   helper processes on one machine
    context   what the parts share
    horizon   the horizon study: the longest length each model learns in a step budget
    samplers  the built-in Optuna samplers and pruners (a plugin module, entry point)

Importing this package imports neither Optuna nor torch.
"""
