"""Table metadata the way Dagster's documentation writes it: a column schema given on the
definition and at materialization, row counts, column lineage, and a table of records.
Only the import changed (``dagster`` → ``trellis``); each example also runs on Dagster
1.13 with the import switched back."""

import trellis as dg

# -- a column schema, on the definition and at materialization --------------------------


@dg.asset(
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn("name", "string", description="The name of the person"),
                dg.TableColumn("age", "int", description="The age of the person"),
            ]
        )
    }
)
def people():
    pass


@dg.asset(deps=[people])
def adults():
    return dg.MaterializeResult(
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(
                        "name",
                        "string",
                        description="The name of the person",
                        constraints=dg.TableColumnConstraints(nullable=False, unique=True),
                    ),
                    dg.TableColumn("age", "int", description="The age of the person"),
                ],
                constraints=dg.TableConstraints(other=["age >= 18"]),
            ),
            "dagster/row_count": 374,
        }
    )


def _metadata(instance, key):
    event = instance.get_latest_materialization_event(dg.AssetKey(key))
    return event.asset_materialization.metadata


def test_a_column_schema_and_row_count_are_recorded_with_the_materialization():
    with dg.instance_for_test() as instance:
        assert dg.materialize([people, adults], instance=instance).success
        metadata = _metadata(instance, "adults")
        schema = metadata["dagster/column_schema"].schema
        assert [column.name for column in schema.columns] == ["name", "age"]
        assert schema.columns[0].constraints.nullable is False
        assert schema.columns[0].constraints.unique is True
        assert schema.columns[1].type == "int"
        assert list(schema.constraints.other) == ["age >= 18"]
        assert metadata["dagster/row_count"].value == 374


def test_a_schema_built_from_names_and_types():
    schema = dg.TableSchema.from_name_type_dict({"name": "string", "age": "int"})
    assert [(c.name, c.type) for c in schema.columns] == [("name", "string"), ("age", "int")]


# -- column lineage ----------------------------------------------------------------------


@dg.asset
def source_bar():
    return 1


@dg.asset
def source_baz():
    return 2


@dg.asset(deps=[source_bar, source_baz])
def my_asset():
    yield dg.MaterializeResult(
        metadata={
            "dagster/column_lineage": dg.TableColumnLineage(
                deps_by_column={
                    "new_column_foo": [
                        dg.TableColumnDep(
                            asset_key=dg.AssetKey("source_bar"), column_name="column_bar"
                        ),
                        dg.TableColumnDep(
                            asset_key=dg.AssetKey("source_baz"), column_name="column_baz"
                        ),
                    ],
                    "new_column_qux": [
                        dg.TableColumnDep(
                            asset_key=dg.AssetKey("source_bar"), column_name="column_quuz"
                        ),
                    ],
                }
            )
        }
    )


def test_column_lineage_is_recorded():
    with dg.instance_for_test() as instance:
        assert dg.materialize([source_bar, source_baz, my_asset], instance=instance).success
        lineage = _metadata(instance, "my_asset")["dagster/column_lineage"].column_lineage
        foo = lineage.deps_by_column["new_column_foo"]
        assert [(d.asset_key, d.column_name) for d in foo] == [
            (dg.AssetKey("source_bar"), "column_bar"),
            (dg.AssetKey("source_baz"), "column_baz"),
        ]


# -- a table of records, and references ----------------------------------------------------


@dg.asset
def summary(context: dg.AssetExecutionContext):
    context.add_output_metadata(
        {
            "preview": dg.MetadataValue.table(
                records=[
                    dg.TableRecord({"region": "north", "total": 12}),
                    dg.TableRecord({"region": "south", "total": 7}),
                ],
                schema=dg.TableSchema(
                    columns=[dg.TableColumn("region", "string"), dg.TableColumn("total", "int")]
                ),
            ),
            "source": dg.MetadataValue.asset(dg.AssetKey("source_bar")),
            "run": dg.MetadataValue.dagster_run(context.run_id),
            "notebook": dg.MetadataValue.notebook("notebooks/summary.ipynb"),
            "loaded_at": dg.MetadataValue.timestamp(1717243200.0),
            "dagster/row_count": 2,
            "dagster/table_name": "warehouse.summary",
        }
    )
    return 19


def test_a_table_and_references_are_recorded():
    with dg.instance_for_test() as instance:
        result = dg.materialize([summary], instance=instance)
        assert result.success
        metadata = _metadata(instance, "summary")
        preview = metadata["preview"]
        assert [record.data for record in preview.records] == [
            {"region": "north", "total": 12},
            {"region": "south", "total": 7},
        ]
        assert [column.name for column in preview.schema.columns] == ["region", "total"]
        assert metadata["source"].asset_key == dg.AssetKey("source_bar")
        assert metadata["run"].run_id == result.run_id
        assert metadata["notebook"].path == "notebooks/summary.ipynb"
        assert metadata["loaded_at"].value == 1717243200.0
        assert metadata["dagster/row_count"].value == 2
        assert metadata["dagster/table_name"].value == "warehouse.summary"
