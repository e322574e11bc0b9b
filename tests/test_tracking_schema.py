"""One tracking schema: every rnnbench tag name is spelled once, in
rnnbench.tracking.schema, with its type; values convert once on the way in and out."""

import re
from pathlib import Path

from rnnbench.tracking import schema

PACKAGE = Path(__file__).resolve().parents[1] / "rnnbench"


def test_tags_round_trip_with_their_types():
    written = schema.tags(
        {schema.DIVERGED: True, schema.SEED: 7, schema.SOLVED: None, schema.MODEL: "lstm"}
    )
    assert written == {
        "rnnbench.diverged": "True",
        "rnnbench.seed": "7",
        "rnnbench.model": "lstm",
    }  # None is not written
    assert schema.DIVERGED.read(written) is True
    assert schema.SEED.read(written) == 7
    assert schema.SOLVED.read(written) is None
    assert schema.SOLVED.read({"rnnbench.solved": "None"}) is None  # older runs wrote it
    assert schema.SOLVED.read({"rnnbench.solved": "False"}) is False
    assert schema.TRIAL.read({"rnnbench.trial": "x"}, default=-1) == -1


def test_names_are_unique_and_namespaced():
    names = [key.name for key in schema.KEYS]
    assert len(names) == len(set(names))
    assert all(name.startswith("rnnbench.") for name in names)


def test_no_code_compares_a_tag_with_true_text():
    found = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in PACKAGE.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"""[!=]= ["'](True|False)["']""", line)
    ]
    assert not found, found


# Modules of the UI work in flight on another branch (issue 28's UI/tracking part): their
# tag literals move to the schema there; every other module reads the typed keys.


def test_no_module_spells_a_tag_name_outside_the_schema():
    names = "|".join(re.escape(key.name) for key in schema.KEYS)
    spelled = re.compile(rf"""["']({names}|{re.escape(schema.SETTING_PREFIX)})["']""")
    found = [
        f"{p.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for p in PACKAGE.rglob("*.py")
        # _api.py names modules (rnnbench.horizon, the 0.1 module), not tags
        if p.name not in ("schema.py", "_api.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if spelled.search(line)
    ]
    assert not found, found
