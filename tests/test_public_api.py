"""The public surface is ``trellis/__init__.py``; these tests pin it."""

import subprocess
import sys

import trellis


def test_all_is_sorted_and_unique():
    assert trellis.__all__ == sorted(set(trellis.__all__))


def test_every_public_name_resolves_to_an_object_with_a_docstring():
    for name in trellis.__all__:
        obj = getattr(trellis, name)
        assert obj is not None, name
        if callable(obj) and not isinstance(obj, (str, int)):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_unknown_name_raises_attribute_error():
    try:
        trellis.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_trellis_is_light():
    heavy = ["pydantic", "sqlalchemy", "dask", "distributed", "croniter", "yaml", "rich"]
    code = (
        "import sys, trellis\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import trellis pulled in: {out.stdout.strip()}"


def test_all_matches_the_lazy_export_table():
    assert set(trellis.__all__) == set(trellis._EXPORTS)
