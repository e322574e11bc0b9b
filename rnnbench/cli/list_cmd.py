"""`rnnbench list`: every registered model, task, diagnostic, sampler and pruner, with
where it came from (`rnnbench describe NAME` shows one in full)."""

from __future__ import annotations

import argparse

from rnnbench.cli.common import print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "list", help="list models, tasks, diagnostics, samplers and pruners"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry

    registry = get_registry()
    models = [
        {
            "name": name,
            "distribution": src.distribution,
            "version": src.version,
            "entry_point": src.entry_point,
            "inputs": sorted(spec.inputs),
            "outputs": sorted(spec.outputs),
            "description": spec.description,
        }
        for name, (spec, src) in sorted(registry.models.items())
    ]
    tasks = [
        {
            "name": name,
            "distribution": src.distribution,
            "version": src.version,
            "entry_point": src.entry_point,
            "input_kind": spec.input_kind,
            "output": spec.output,
            "monitor": spec.monitor,
            "description": spec.description,
        }
        for name, (spec, src) in sorted(registry.tasks.items())
    ]
    extensions = {
        f"{kind}s": [
            {
                "name": name,
                "distribution": src.distribution,
                "version": src.version,
                "entry_point": src.entry_point,
                "description": spec.description,
            }
            for name, (spec, src) in sorted(registry.table(kind).items())
        ]
        for kind in ("diagnostic", "sampler", "pruner")
    }
    if args.json:
        print_json({"models": models, "tasks": tasks, **extensions, "problems": registry.problems})
        return 0
    tables: list[tuple[str, list[dict]]] = [
        ("models", models),
        ("tasks", tasks),
        *extensions.items(),
    ]
    for title, rows in tables:
        print(f"{title}:")
        for row in rows:
            source = f"{row['distribution']} {row['version']}"
            print(f"  {row['name']:<22} {source:<22} {row['description']}")
    return 0
