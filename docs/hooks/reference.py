"""The generated half of the documentation: Markdown pages written from the code itself,
so that the reference cannot drift from it.

- `cli_page()`: every command and option of `rnnbench`, from the argparse parsers;
- `settings_page()`: every `--set` key of every installed model and task and the shared
  train.* keys, exactly as `rnnbench describe NAME` prints them;
- `sweep_file_page()`: the keys of a sweep file, from `rnnbench.sweep.config`;
- `api_page(module)`: one mkdocstrings entry (`::: module.name`) per public name.

`public_names(module)` is the one rule for what is public: the module's `__all__`, or,
where a module has none yet, its public classes and functions defined in rnnbench.

The docs hook (`docs/hooks/rnnbench_docs.py`) writes these pages into
`docs/reference/generated/` at build time; the docs tests import this module to check
the built site against the same lists.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
from pathlib import Path
from typing import Any

API_MODULES = ("rnnbench", "rnnbench.nn", "rnnbench.taskkit", "rnnbench.testing")
API_TITLES = {
    "rnnbench": "the specs, params, errors and hook marker every plugin imports",
    "rnnbench.nn": "building blocks for model plugins",
    "rnnbench.taskkit": "building blocks for task plugins",
    "rnnbench.testing": "the contract checks for a plugin's own tests",
}
WIDTH = 100  # columns of the help text blocks


# ------------------------------------------------------------------ the public names
def public_names(module_name: str) -> list[str]:
    """The names a module promises: `__all__`, else its public classes and functions
    that come from rnnbench (not re-exported torch helpers, not constants)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if not n.startswith("__")]  # __version__ is not an API entry
    found = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if (inspect.isclass(value) or inspect.isfunction(value)) and getattr(
            value, "__module__", ""
        ).startswith("rnnbench"):
            found.append(name)
    return sorted(found)


def api_identifier(module_name: str, name: str) -> str:
    """What mkdocstrings collects for `module.name`, which is also the HTML id of its entry:
    the public path, or the defining path for a name the module loads lazily (through a
    module `__getattr__`, invisible to static analysis)."""
    module = importlib.import_module(module_name)
    if name in vars(module):
        return f"{module_name}.{name}"
    value = getattr(module, name)
    return f"{value.__module__}.{value.__qualname__}"


def api_page_name(module_name: str) -> str:
    """`rnnbench.nn` -> `rnnbench-nn.md` (a dotted `x.nn.md` would read as Norwegian to
    the i18n plugin's suffix rule)."""
    return module_name.replace(".", "-") + ".md"


def api_page(module_name: str) -> str:
    module = importlib.import_module(module_name)
    doc = inspect.getdoc(module) or ""
    names = public_names(module_name)
    source = (
        "its `__all__`"
        if hasattr(module, "__all__")
        else "its public classes and functions (the module has no `__all__` yet)"
    )
    lines = [
        f"# `{module_name}`",
        "",
        f"*{API_TITLES.get(module_name, '')}*",
        "",
        doc,
        "",
        f"The {len(names)} stable names below are generated from {source}; "
        "see [the stable public API](../../plugins/public-api.md).",
        "",
    ]
    constants = []
    for name in names:
        value = getattr(module, name)
        if not (inspect.isclass(value) or inspect.isfunction(value) or callable(value)):
            constants.append((name, value))
            continue
        lines += [
            f"::: {api_identifier(module_name, name)}",
            "    options:",
            "      heading_level: 2",
            "      show_root_heading: true",
            "      show_root_full_path: true",
            "",
        ]
    if constants:
        lines += ["## Constants", ""]
        for name, value in constants:
            lines += [
                f"### `{module_name}.{name}` {{#{module_name}.{name}}}",
                "",
                "```python",
                f"{name} = {value!r}",
                "```",
                "",
            ]
    return "\n".join(lines)


# ------------------------------------------------------------------ the CLI
def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public accessor for subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage lines of `--help`, wrapped at WIDTH columns."""
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help()


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    """`| invocation | default | help |` per option, as `--help` words them."""
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    rows = []
    for action in parser._actions:  # argparse's own formatting, so the words are --help's
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        flags = f"`{formatter._format_action_invocation(action)}`"
        default = action.default
        shown = (
            ""
            if default in (None, False, [], argparse.SUPPRESS) or not action.option_strings
            else f"`{default}`"
        )
        help_text = formatter._expand_help(action) if action.help else ""
        help_text = help_text.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {flags} | {shown} | {help_text} |")
    return rows


def command_parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from rnnbench.cli import build_parser

    parser = build_parser()
    return parser, _subparsers(parser)


def cli_page() -> str:
    parser, commands = command_parsers()
    lines = [
        "# Command line",
        "",
        "Generated from the argparse parsers of `rnnbench` at build time: the usage, "
        "options and help text are those of `rnnbench COMMAND --help`.",
        "",
        "| command | what it does |",
        "| --- | --- |",
    ]
    helps = {
        a.dest: a.help
        for a in next(
            a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        )._choices_actions
    }
    for name in commands:
        lines.append(f"| [`rnnbench {name}`](#rnnbench-{name}) | {helps.get(name, '')} |")
    lines += [
        "",
        "Every bad input is one line `rnnbench: error: ...` naming what was wrong, "
        "with exit status 2 and nothing written.",
        "",
    ]
    for name, sub in commands.items():
        lines += [
            f"## `rnnbench {name}` {{#rnnbench-{name}}}",
            "",
            helps.get(name, "").capitalize() + ".",
            "",
            *([sub.description, ""] if sub.description else []),
            "```text",
            _usage(sub).rstrip(),
            "```",
            "",
            "| option | default | meaning |",
            "| --- | --- | --- |",
            *_option_rows(sub),
            "",
        ]
    return "\n".join(lines)


# ------------------------------------------------------------------ the --set keys
def describe_entries() -> list[dict[str, Any]]:
    """`rnnbench describe` entries: the train keys, then every model, then every task."""
    from rnnbench.cli.describe_cmd import describe
    from rnnbench.contract.registry import get_registry

    registry = get_registry()
    entries = describe(registry, "train")
    for name in sorted(registry.models):
        entries += [e for e in describe(registry, name) if e["kind"] == "model"]
    for name in sorted(registry.tasks):
        entries += [e for e in describe(registry, name) if e["kind"] == "task"]
    return entries


def settings_anchor(entry: dict[str, Any]) -> str:
    return "train" if entry["kind"] == "train" else f"{entry['kind']}-{entry['name']}"


def settings_page() -> str:
    from rnnbench.cli.describe_cmd import render

    entries = describe_entries()
    lines = [
        "# Every `--set` key",
        "",
        "Generated at build time from the `Param` definitions of the shared training "
        "options and of every model and task installed where the site was built, as "
        "`rnnbench describe NAME` prints them. `--set model.KEY=VALUE`, "
        "`--set task.KEY=VALUE` and `--set train.KEY=VALUE` work for `run`, `sweep` and "
        "`horizon`; a sweep file takes the same keys under `train:`, `task_options:` "
        "and `model_params:` ([sweep file](sweep-file.md)).",
        "",
    ]
    for kind, title in (("train", "Shared training keys"), ("model", "Models"), ("task", "Tasks")):
        group = [e for e in entries if e["kind"] == kind]
        lines += [f"## {title}", ""]
        if kind != "train":
            lines += [" · ".join(f"[`{e['name']}`](#{settings_anchor(e)})" for e in group), ""]
        for entry in group:
            heading = "###"
            label = "train.*" if kind == "train" else f"{kind} `{entry['name']}`"
            lines += [
                f"{heading} {label} {{#{settings_anchor(entry)}}}",
                "",
                f"`rnnbench describe {entry['name']}`:",
                "",
                "```text",
                "\n".join(render(entry)).rstrip(),
                "```",
                "",
            ]
    return "\n".join(lines)


# ------------------------------------------------------------------ the sweep file
def sweep_file_page() -> str:
    """The sweep file's keys, from their one declaration (rnnbench.sweep.config.SCHEMA):
    a commented example, and a table of types, defaults, minimums and flags."""
    from rnnbench.sweep import config as sweep_config

    lines = [
        "# The sweep file",
        "",
        "`rnnbench sweep --config FILE` reads a YAML mapping; command-line flags override "
        "it, and without `--config` the embedded default benchmark "
        "(`rnnbench/sweep/defaults/default-sweep.yaml`) applies. Generated from "
        "`rnnbench.sweep.config.SCHEMA` at build time.",
        "",
        "## An example, every key commented",
        "",
        "```yaml",
        sweep_example(sweep_config.SCHEMA),
        "```",
        "",
        "## The keys",
        "",
        "| key | type | default | minimum | flag | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key in sweep_config.SCHEMA:
        default = key.default
        if isinstance(default, tuple):
            default = list(default)
        shown = (
            ""
            if default in (None, "", [], {}) and not isinstance(default, bool)
            else f"`{default}`"
        )
        minimum = "" if key.minimum is None else f"{key.minimum:g}"
        kind = "list" if key.type is list else key.type.__name__
        if key.type is Path:
            kind = "path"
        flag = f"`{key.flag}`" if key.flag else ""
        meaning = key.help.replace("|", "\\|")
        lines.append(f"| `{key.name}` | {kind} | {shown} | {minimum} | {flag} | {meaning} |")
    lines += [
        "",
        "In `train:` go the shared [train.* keys](settings.md#train); "
        "`task_options: {TASK: {KEY: VALUE}}` and `model_params: {MODEL: {KEY: ...}}` "
        "take the [task and model keys](settings.md). Under `model_params` a plain value "
        "fixes a hyperparameter, and a mapping overrides its search space: "
        "`{low: L, high: H, log: true}` for a range, `{choices: [...]}` for a choice.",
        "",
        "Unknown keys, bad types and unknown names are one-line errors naming the file and "
        "the line (exit 2, nothing written).",
        "",
        "## The embedded default",
        "",
        "```yaml",
        sweep_config.DEFAULT_FILE.read_text().strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def sweep_example(schema) -> str:
    """Every key with its example value and its help as a YAML comment (valid YAML)."""
    rows = [(f"{key.name}: {key.example}", key.help) for key in schema]
    width = max(len(text) for text, _ in rows if len(text) <= 40) + 2
    return "\n".join(
        f"{text.ljust(max(width, len(text) + 2))}# {comment}" for text, comment in rows
    )


PAGES = {
    "cli.md": cli_page,
    "settings.md": settings_page,
    "sweep-file.md": sweep_file_page,
    **{f"api/{api_page_name(m)}": (lambda m=m: api_page(m)) for m in API_MODULES},
}
