"""Dynamic partitions written the way Dagster's documentation shows them; only the import
changed (``dagster`` → ``trellis``). Each test is a plain function that runs unchanged
under Dagster 1.13 with the import switched back (no pytest fixtures)."""

from trellis import (
    AssetExecutionContext,
    DynamicPartitionsDefinition,
    RunRequest,
    SensorResult,
    asset,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
    materialize,
    sensor,
)

images_partitions_def = DynamicPartitionsDefinition(name="images")


@asset(partitions_def=images_partitions_def)
def image_sizes(context: AssetExecutionContext) -> int:
    context.log.info(f"measuring {context.partition_key}")
    return len(context.partition_key)


images_job = define_asset_job("images_job", selection=[image_sizes])


@sensor(job=images_job)
def image_sensor(context):
    new_images = [
        name
        for name in ["cat.png", "dog.png"]
        if not context.instance.has_dynamic_partition(images_partitions_def.name, name)
    ]
    return SensorResult(
        run_requests=[RunRequest(partition_key=name) for name in new_images],
        dynamic_partitions_requests=[images_partitions_def.build_add_request(new_images)],
    )


def test_a_sensor_adds_partitions_and_requests_their_runs():
    with instance_for_test() as instance:
        result = image_sensor(build_sensor_context(instance=instance))
        assert [r.partition_key for r in result.run_requests] == ["cat.png", "dog.png"]
        (request,) = result.dynamic_partitions_requests
        assert request.partition_keys == ["cat.png", "dog.png"]
        instance.add_dynamic_partitions(images_partitions_def.name, request.partition_keys)
        assert instance.get_dynamic_partitions("images") == ["cat.png", "dog.png"]
        run = materialize([image_sizes], partition_key="dog.png", instance=instance)
        assert run.output_for_node("image_sizes") == len("dog.png")
        instance.delete_dynamic_partition("images", "cat.png")
        assert instance.get_dynamic_partitions("images") == ["dog.png"]
