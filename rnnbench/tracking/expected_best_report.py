"""Expected-best curves (rnnbench.tracking.expected_best) as tables and PNG charts.

Per task: a table of E[best of n] ± its standard deviation at n = 1, ⌊N/2⌋ and N, where
N is the most trials any of the task's models counted (a model with fewer trials has no
value beyond its own count: the estimator would extrapolate), ★ marking the best model
at each n; and a chart, one line per model over n = 1 .. its N, with the clipped ±1 std
band shaded (results/sweeps/NAME/expected-best-TASK.png).
"""

from __future__ import annotations

from pathlib import Path

from rnnbench.tracking.expected_best import Curve, expected_best
from rnnbench.tracking.tables import markdown_table, text_table

ARROW = {"min": "↓", "max": "↑"}
NO_CURVES = (
    "no expected-best curves: this sweep ran no search trials (n_trials 0 trains "
    "each pair's fixed configuration)"
)
CAPTION = (
    "E[best of n] is the expected best validation score of n trials drawn with replacement "
    "from the pair's N trials (Dodge et al. 2019): with the scores sorted worst first, "
    "E = Σ v_(i) [(i/N)^n − ((i−1)/N)^n]; ± is the square root of Var = Σ v_(i)² "
    "[(i/N)^n − ((i−1)/N)^n] − E² (the chart's band, clipped to the observed scores). "
    "Pruned trials count as their last reported validation value; failed, killed and "
    "non-finite (diverged) trials are left out (`left out`).\n"
)


def by_task(curves: list[Curve]) -> list[list[Curve]]:
    """Per task (in order) that counted at least one trial, all its curves (a model whose
    every trial was left out shows as a row of "—")."""
    order = list(dict.fromkeys(c.task for c in curves))
    groups = [[c for c in curves if c.task == t] for t in order]
    return [g for g in groups if any(c.values for c in g)]


def nothing_counted(curves: list[Curve]) -> list[str]:
    """One line per task none of whose trials reached a finite validation score."""
    out = []
    for task in dict.fromkeys(c.task for c in curves):
        mine = [c for c in curves if c.task == task]
        if not any(c.values for c in mine):
            out.append(
                f"{task}: no expected-best curve: none of its "
                f"{sum(c.left_out for c in mine)} trials reached a finite validation "
                "score (failed, killed or diverged)"
            )
    return out


def budgets(mine: list[Curve]) -> list[int]:
    """The table's n: 1, ⌊N/2⌋ and N (N = the most trials a model counted)."""
    top = max(len(c.values) for c in mine)
    return sorted({1, max(1, top // 2), top})


def _cells(mine: list[Curve], ns: list[int]) -> list[list[str]]:
    table = {
        (c.model, n): expected_best(c.values, n, c.mode)
        for c in mine
        for n in ns
        if n <= len(c.values)
    }
    sign = 1.0 if mine[0].mode == "min" else -1.0
    leaders = {
        n: min((m for m, k in table if k == n), key=lambda m: sign * table[(m, n)][0]) for n in ns
    }
    body = []
    for c in mine:
        row = [c.model, str(len(c.values)), str(c.left_out) if c.left_out else ""]
        for n in ns:
            if (c.model, n) not in table:
                row.append("—")
                continue
            mean, std = table[(c.model, n)]
            row.append(f"{mean:.4f} ± {std:.4f}" + (" ★" if leaders[n] == c.model else ""))
        body.append(row)
    return body


def _header(mine: list[Curve], ns: list[int]) -> list[str]:
    return ["model", "trials", "left out", *[f"n={n}" for n in ns]]


def verdict(mine: list[Curve]) -> str:
    """Whether the leader at n = 1 is the leader at n = N."""
    ns = budgets(mine)
    body = _cells(mine, ns)
    first = [r[0] for r in body if r[3].endswith("★")]
    last = [r[0] for r in body if r[-1].endswith("★")]
    if len(mine) < 2 or not first or not last:
        return ""
    if first == last:
        return f"{first[0]} leads at every budget shown"
    return (
        f"the ranking changes with the search budget: {first[0]} leads at n=1, "
        f"{last[0]} at n={ns[-1]}"
    )


def title(mine: list[Curve]) -> str:
    return f"{mine[0].task}: expected best {mine[0].metric} {ARROW[mine[0].mode]} of n trials"


def markdown(curves: list[Curve]) -> str:
    if not curves:
        return NO_CURVES + ".\n"
    groups = by_task(curves)
    parts = [f"{line}.\n" for line in nothing_counted(curves)]
    for mine in groups:
        ns = budgets(mine)
        said = verdict(mine)
        parts.append(
            f"## {title(mine)}\n\n{markdown_table(_header(mine, ns), _cells(mine, ns))}"
            + (f"\n{said}.\n" if said else "")
        )
    return "\n".join([*parts, CAPTION] if groups else parts)


def terminal(curves: list[Curve]) -> str:
    if not curves:
        return NO_CURVES + "\n"
    blocks = [f"{line}\n" for line in nothing_counted(curves)]
    for mine in by_task(curves):
        ns = budgets(mine)
        said = verdict(mine)
        blocks.append(
            title(mine)
            + "\n"
            + text_table(_header(mine, ns), _cells(mine, ns), indent="  ", right=(1, 2))
            + (f"  → {said}\n" if said else "")
        )
    return "\n".join(blocks)


def plot(curves: list[Curve], folder: Path) -> list[Path]:
    """expected-best-TASK.png per task with counted trials; their paths."""
    from rnnbench.tracking.figures import pyplot, save

    plt = pyplot()

    paths = []
    for mine in by_task(curves):
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for curve in (c for c in mine if c.values):
            points = curve.points()
            ns = [p[0] for p in points]
            (line,) = ax.plot(
                ns,
                [p[1] for p in points],
                marker="o",
                markersize=3,
                label=f"{curve.model} (N={len(curve.values)})",
            )
            ax.fill_between(
                ns,
                [p[2] for p in points],
                [p[3] for p in points],
                color=line.get_color(),
                alpha=0.15,
            )
        ax.set_xlabel("number of trials n")
        ax.set_ylabel(f"expected best {mine[0].metric} {ARROW[mine[0].mode]}")
        ax.set_title(title(mine), fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="best", fontsize=8)
        path = folder / f"expected-best-{mine[0].task}.png"
        save(fig, path)
        paths.append(path)
    return paths
