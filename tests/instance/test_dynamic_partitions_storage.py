"""Dynamic partition keys kept by every back end (memory, SQLite, PostgreSQL): added in
order without duplicates, deleted, looked up, kept across reopening, refused when bad."""

import pytest

from trellis.core.errors import InvalidInvocationError
from trellis.instance.instance import Instance


def test_keys_are_added_in_order_once_and_deleted(any_instance):
    instance = any_instance
    assert instance.get_dynamic_partitions("files") == []
    instance.add_dynamic_partitions("files", ["b.csv", "a.csv"])
    instance.add_dynamic_partitions("files", ["a.csv", "c.csv"])  # a.csv stays where it was
    instance.add_dynamic_partitions("other", ["a.csv"])
    assert instance.get_dynamic_partitions("files") == ["b.csv", "a.csv", "c.csv"]
    assert instance.has_dynamic_partition("files", "c.csv")
    assert not instance.has_dynamic_partition("files", "zzz")
    instance.delete_dynamic_partition("files", "a.csv")
    instance.delete_dynamic_partition("files", "never-there")  # nothing happens
    assert instance.get_dynamic_partitions("files") == ["b.csv", "c.csv"]
    assert instance.get_dynamic_partitions("other") == ["a.csv"]  # names are separate
    instance.add_dynamic_partitions("files", ["a.csv"])  # re-added: at the end
    assert instance.get_dynamic_partitions("files") == ["b.csv", "c.csv", "a.csv"]


def test_bad_keys_and_names_are_refused(any_instance):
    with pytest.raises(InvalidInvocationError, match="list of keys"):
        any_instance.add_dynamic_partitions("files", "a.csv")
    with pytest.raises(InvalidInvocationError, match=r"'a\.\.\.b'.*separates the ends"):
        any_instance.add_dynamic_partitions("files", ["ok", "a...b"])
    with pytest.raises(InvalidInvocationError, match="is empty"):
        any_instance.add_dynamic_partitions("files", [""])
    with pytest.raises(InvalidInvocationError, match="control character"):
        any_instance.add_dynamic_partitions("files", ["a\nb"])
    with pytest.raises(InvalidInvocationError, match="non-empty string"):
        any_instance.add_dynamic_partitions("", ["a"])
    assert any_instance.get_dynamic_partitions("files") == []  # nothing of a refused call


def test_keys_survive_reopening_the_home(tmp_path):
    home = tmp_path / "home"
    first = Instance.from_config(home, {})
    first.add_dynamic_partitions("customers", ["acme", "globex"])
    first.dispose()
    again = Instance.from_config(home, {})
    assert again.get_dynamic_partitions("customers") == ["acme", "globex"]
    again.dispose()
