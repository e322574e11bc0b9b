"""`rnnbench describe NAME`: every `--set` key a model or task takes (type, default, accepted
values, search space, help), with the spec's facts and the plugin it came from;
`rnnbench describe train` lists the shared train.* keys.

Text output stays within WIDTH columns; `--json` prints one object
{"name": NAME, "matches": [entry, ...]}, one entry per model, task or "train" so named.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from rnnbench.cli.common import print_json
from rnnbench.contract.errors import ConfigError
from rnnbench.contract.params import Choice, FloatRange, IntRange, ParamSet, Space, suggest

WIDTH = 120  # columns of the text output
TRAIN = "train"  # the name that describes the shared train.* keys
DEFAULT_COLUMN = 10  # width of the default column; longer defaults push the line on


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "describe", help="show the --set keys of a model or task (or of 'train')"
    )
    parser.add_argument(
        "name",
        metavar="MODEL|TASK|train",
        help="a model or task name (see `rnnbench list`), or 'train'",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rnnbench.contract.registry import get_registry

    entries = describe(get_registry(), args.name)
    if args.json:
        print_json({"name": args.name, "matches": entries})
        return 0
    print("\n\n".join("\n".join(render(entry)) for entry in entries))
    return 0


# ------------------------------------------------------------------ structured description
def describe(registry, name: str) -> list[dict[str, Any]]:
    """Entries for every model, task or the train keys called `name`; ConfigError if none."""
    entries = []
    if name in registry.models:
        entries.append(model_entry(registry, name))
    if name in registry.tasks:
        entries.append(task_entry(registry, name))
    if name == TRAIN:
        entries.append(train_entry())
    if not entries:
        known = [*registry.models, *registry.tasks, TRAIN]
        raise ConfigError(
            f"describe {name!r}: no model, task or {TRAIN!r} of that name{suggest(name, known)}"
        )
    return entries


def source_facts(registry, kind: str, name: str) -> dict[str, str]:
    src = registry.source_of(kind, name)
    return {
        "distribution": src.distribution,
        "version": src.version,
        "entry_point": src.entry_point,
    }


def model_entry(registry, name: str) -> dict[str, Any]:
    spec = registry.model(name)
    defaults = spec.params.defaults()
    return {
        "kind": "model",
        "name": name,
        "description": spec.description,
        "reference": spec.reference,
        **source_facts(registry, "model", name),
        "inputs": sorted(spec.inputs),
        "outputs": sorted(spec.outputs),
        # a callable claim depends on the hyperparameters: report its value at the defaults
        "causal": spec.is_causal(defaults),
        "causal_depends_on_params": callable(spec.causal),
        "stateful": spec.stateful,
        "length_aware": spec.length_aware,
        "hidden_states": spec.exposes_hidden(defaults),
        "params": params_entry(spec.params, "model"),
    }


def task_entry(registry, name: str) -> dict[str, Any]:
    spec = registry.task(name)
    return {
        "kind": "task",
        "name": name,
        "description": spec.description,
        **source_facts(registry, "task", name),
        "input_kind": spec.input_kind,
        "output": spec.output,
        "causal": spec.causal,
        "stateful": spec.stateful,
        "synthetic": spec.synthetic,
        "monitor": spec.monitor,
        "mode": spec.mode,
        "main_metric": spec.main_metric,
        "solved": spec.solved is not None,
        "params": params_entry(spec.options, "task"),
    }


def train_entry() -> dict[str, Any]:
    from rnnbench import __version__
    from rnnbench.training.config import TRAIN_PARAMS

    return {
        "kind": "train",
        "name": TRAIN,
        "description": "training options shared by every model and task; a sweep searches "
        "a key's space only when its search_train lists the key",
        "distribution": "rnnbench",
        "version": __version__,
        "entry_point": None,
        "params": params_entry(TRAIN_PARAMS, "train"),
    }


def params_entry(params: ParamSet, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "key": f"{prefix}.{p.name}",
            "type": p.type.__name__,
            "default": p.default,
            "choices": list(p.choices) if p.choices is not None else None,
            "minimum": p.minimum,
            "maximum": p.maximum,
            "nullable": p.nullable,
            "space": space_entry(p.space),
            "help": p.help,
        }
        for p in params
    ]


def space_entry(space: Space | None) -> dict[str, Any] | None:
    if isinstance(space, IntRange):
        return {
            "kind": "int",
            "low": space.low,
            "high": space.high,
            "log": space.log,
            "step": space.step,
        }
    if isinstance(space, FloatRange):
        return {"kind": "float", "low": space.low, "high": space.high, "log": space.log}
    if isinstance(space, Choice):
        return {"kind": "choice", "values": list(space.values)}
    return None


# ------------------------------------------------------------------ text
def render(entry: dict[str, Any]) -> list[str]:
    """The entry as lines of at most WIDTH columns."""
    title = entry["kind"] if entry["kind"] == TRAIN else f"{entry['kind']} {entry['name']}"
    lines = wrap(f"{title}: {entry['description'] or '(no description)'}", "", "    ")
    plugin = f"{entry['distribution']} {entry['version']}"
    if entry["entry_point"]:
        plugin += f" (entry point {entry['entry_point']!r})"
    facts = [("plugin", plugin)]
    if entry["kind"] == "model":
        causal = yes(entry["causal"]) + (
            " at the defaults (depends on the hyperparameters)"
            if entry["causal_depends_on_params"]
            else ""
        )
        facts += [
            ("reference", entry["reference"] or "(none given)"),
            (
                "accepts",
                f"inputs {', '.join(entry['inputs'])}; outputs {', '.join(entry['outputs'])}",
            ),
            ("causal", causal),
            (
                "state",
                f"stateful {yes(entry['stateful'])}, length-aware "
                f"{yes(entry['length_aware'])}, per-step hidden states "
                f"{yes(entry['hidden_states'])} at the defaults",
            ),
        ]
    elif entry["kind"] == "task":
        facts += [
            (
                "data",
                f"{entry['input_kind']} in, {entry['output']} out; causal "
                f"{yes(entry['causal'])}, stateful {yes(entry['stateful'])}, "
                f"synthetic {yes(entry['synthetic'])}",
            ),
            (
                "metrics",
                f"monitors {entry['monitor']} ({entry['mode']}), ranks by "
                f"test_{entry['main_metric']}, solved criterion "
                f"{yes(entry['solved'])}",
            ),
        ]
    for label, text in facts:
        lines += wrap(text, f"  {label + ':':<11}", " " * 13)
    lines.append("")
    if not entry["params"]:
        lines.append(f"no --set {entry['kind']}.* keys")
        return lines
    lines.append(f"--set keys ({len(entry['params'])}):")
    key_width = max(len(p["key"]) for p in entry["params"])
    default_width = min(DEFAULT_COLUMN, max(len(value_text(p["default"])) for p in entry["params"]))
    for param in entry["params"]:
        lines += render_param(param, key_width, default_width)
    return lines


def render_param(p: dict[str, Any], key_width: int, default_width: int) -> list[str]:
    """`KEY  TYPE  = DEFAULT  accepts ...; search ...`, then the help, indented."""
    head = f"  {p['key']:<{key_width}}  {p['type']:<5}  = {value_text(p['default']):<{default_width}}  "
    lines = wrap(
        f"accepts {accepted_text(p)}; {search_text(p['space'])}",
        head,
        " " * min(len(head), WIDTH // 2),
    )
    if p["help"]:
        lines += wrap(p["help"], "      ", "      ")
    return lines


def accepted_text(p: dict[str, Any]) -> str:
    if p["choices"] is not None:
        text = "one of " + ", ".join(value_text(c) for c in p["choices"])
    elif p["minimum"] is not None and p["maximum"] is not None:
        text = f"{p['minimum']:g} to {p['maximum']:g}"
    elif p["minimum"] is not None:
        text = f">= {p['minimum']:g}"
    elif p["maximum"] is not None:
        text = f"<= {p['maximum']:g}"
    elif p["type"] == "bool":
        text = "true or false"
    else:
        text = f"any {p['type']}"
    return text + (" or none" if p["nullable"] else "")


def search_text(space: dict[str, Any] | None) -> str:
    if space is None:
        return "not searched"
    if space["kind"] == "choice":
        return "searched over " + ", ".join(value_text(v) for v in space["values"])
    step = f", step {space['step']}" if space.get("step", 1) != 1 else ""
    scale = ", log scale" if space["log"] else ""
    return f"searched in [{space['low']:g}, {space['high']:g}]{scale}{step}"


def value_text(value: Any) -> str:
    """A value as it would be written after `--set KEY=`."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    return str(value)


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    ) or [first.rstrip()]
