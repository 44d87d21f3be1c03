"""The Dagster side of the Pipes subprocess tutorial and reference, with ``dagster`` →
``trellis`` (the tutorial's ``shutil.which("python")`` is this interpreter here, so the
script finds the same packages)."""

import os
import sys

import trellis as dg

PYTHON = sys.executable


@dg.asset
def subprocess_asset(
    context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
) -> dg.MaterializeResult:
    cmd = [PYTHON, dg.file_relative_path(__file__, "external_code.py")]
    return pipes_subprocess_client.run(
        command=cmd,
        context=context,
        extras={"region": "emea"},
        env={"MY_ENV_VAR_IN_SUBPROCESS": "my_value"},
    ).get_materialize_result()


@dg.multi_asset(specs=[dg.AssetSpec("orders"), dg.AssetSpec("users")])
def subprocess_multi_asset(
    context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
):
    cmd = [PYTHON, dg.file_relative_path(__file__, "external_multi.py")]
    return pipes_subprocess_client.run(command=cmd, context=context).get_results()


@dg.asset
def custom_session_asset(context: dg.AssetExecutionContext):
    """The "customizing Pipes" page: the asset opens the session and starts the process."""
    import subprocess

    with dg.open_pipes_session(
        context=context,
        context_injector=dg.PipesTempFileContextInjector(),
        message_reader=dg.PipesTempFileMessageReader(),
        extras={"region": "apac"},
    ) as pipes_session:
        cmd = [PYTHON, dg.file_relative_path(__file__, "external_code.py")]
        subprocess.run(
            cmd, env={**os.environ, **pipes_session.get_bootstrap_env_vars()}, check=True
        )
    yield from pipes_session.get_results()


defs = dg.Definitions(
    assets=[subprocess_asset, subprocess_multi_asset, custom_session_asset],
    resources={"pipes_subprocess_client": dg.PipesSubprocessClient()},
)
