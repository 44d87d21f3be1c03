"""Every public name of Dagster 1.13, checked against Trellis.

``dagster_public_names.txt`` lists Dagster's names (a fact, as data). Each is either
present in Trellis (importable from ``trellis`` under that name), planned (a feature of a
later release, ``trellis._dagster_names.PLANNED``), or out of scope (with the reason,
``OUT_OF_SCOPE``). A ported project's ``from dagster import X`` becomes
``from trellis import X``: for a present name it works, for the others the ImportError
says which case it is. Run this file as a script for the report, name by name.
"""

import re
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

import trellis
from trellis._dagster_names import OUT_OF_SCOPE, PLANNED, PLANNED_GROUPS

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"


def dagster_names() -> list[str]:
    """Dagster 1.13's public names, from the data file."""
    lines = (HERE / "dagster_public_names.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def present_names() -> list[str]:
    """The Dagster names classified as present: neither planned nor out of scope."""
    return [n for n in dagster_names() if n not in PLANNED and n not in OUT_OF_SCOPE]


def status(name: str) -> str:
    """``present``, ``planned: <group>`` or ``out of scope: <reason>``."""
    if name in PLANNED:
        return f"planned: {PLANNED[name]}"
    if name in OUT_OF_SCOPE:
        return f"out of scope: {OUT_OF_SCOPE[name]}"
    return "present"


def test_the_list_is_dagster_1_13s_public_api():
    names = dagster_names()
    assert len(names) == len(set(names)) == 432
    for name in ("Definitions", "asset", "DagsterInstance", "asset_check", "load_from_defs_folder"):
        assert name in names


def test_each_name_is_classified_once_and_only_dagster_names_are_classified():
    names = set(dagster_names())
    assert not set(PLANNED) & set(OUT_OF_SCOPE)
    assert set(PLANNED) <= names, sorted(set(PLANNED) - names)
    assert set(OUT_OF_SCOPE) <= names, sorted(set(OUT_OF_SCOPE) - names)
    assert set(PLANNED.values()) <= set(PLANNED_GROUPS)


@pytest.mark.parametrize("name", present_names())
def test_present_name_imports_from_trellis(name):
    namespace: dict[str, object] = {}
    exec(f"from trellis import {name}", namespace)  # what a ported import does
    assert namespace[name] is not None
    if name != "__version__":
        assert name in trellis.__all__


def test_a_name_that_trellis_now_has_is_not_still_classified_missing():
    stale = sorted(n for n in [*PLANNED, *OUT_OF_SCOPE] if n in trellis.__all__)
    assert not stale, f"reclassify as present (remove from trellis._dagster_names): {stale}"


def _one_name_per_planned_group() -> list[tuple[str, str]]:
    first: dict[str, str] = {}
    for name, group in sorted(PLANNED.items()):
        first.setdefault(group, name)
    return [(name, f"trellis does not have '{name}' yet (") for name in first.values()]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        *_one_name_per_planned_group(),
        ("repository", "trellis does not provide 'repository': the legacy repository API"),
    ],
)
def test_a_missing_name_fails_at_import_saying_why(name, expected):
    with pytest.raises(ImportError) as info:
        exec(f"from trellis import {name}", {})
    assert str(info.value).startswith(expected)
    assert "see README" in str(info.value)


def test_a_planned_name_says_it_is_coming(monkeypatch):
    """The seam for names a later Dagster adds: planned, with its group's sentence."""
    from trellis import _dagster_names

    monkeypatch.setitem(_dagster_names.PLANNED_GROUPS, "future", "it arrives in a later release")
    monkeypatch.setitem(_dagster_names.PLANNED, "FutureThing", "future")
    with pytest.raises(ImportError) as info:
        exec("from trellis import FutureThing", {})
    assert str(info.value) == (
        "trellis does not have 'FutureThing' yet (it arrives in a later release); see README "
        "'Dagster names'"
    )


def test_every_missing_name_has_an_explaining_import_error():
    shadowed = []
    for name in [*PLANNED, *OUT_OF_SCOPE]:
        if isinstance(vars(trellis).get(name), types.ModuleType):
            shadowed.append(name)  # an internal subpackage of that name is already imported
            continue
        with pytest.raises(ImportError, match=re.escape(repr(name))):
            exec(f"from trellis import {name}", {})
    assert not shadowed, shadowed  # no internal subpackage hides a public Dagster name


def test_other_unknown_names_stay_attribute_errors():
    assert not hasattr(trellis, "NoSuchThing")
    with pytest.raises(ImportError, match="cannot import name 'NoSuchThing'"):
        exec("from trellis import NoSuchThing", {})


def test_looking_up_a_missing_name_keeps_import_trellis_light():
    code = (
        "import sys, trellis\n"
        "try:\n    from trellis import AutomationCondition\nexcept ImportError:\n    pass\n"
        "print(','.join(m for m in ('pydantic', 'yaml', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_readme_states_the_count_and_the_missing_groups():
    text = " ".join(README.read_text().split())
    total = len(dagster_names())
    have = len(present_names())
    assert f"Trellis has {have} of Dagster 1.13's {total} public names" in text
    if PLANNED:
        assert f"{len(PLANNED)} are planned" in text
        assert planned_groups_sentence() in text, planned_groups_sentence()
    else:
        assert "none is planned" in text
    assert f"{len(OUT_OF_SCOPE)} are out of scope" in text


def planned_groups_sentence() -> str:
    """The README's sentence that lists the planned groups (exactly those), largest first."""
    counts = Counter(PLANNED.values())
    groups = sorted(counts, key=lambda g: (-counts[g], g))
    return "The planned groups, largest first: " + ", ".join(groups) + "."


def report() -> str:
    """The name-by-name report: counts, then each name with its status."""
    names = dagster_names()
    counts = Counter(status(n).split(":")[0] for n in names)
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    lines = [f"{len(names)} Dagster 1.13 public names: {summary}"]
    lines += [f"{name:45} {status(name)}" for name in names]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
