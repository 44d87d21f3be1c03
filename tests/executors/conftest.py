"""The Dask cluster the executor tests share: one ``LocalCluster`` of two single-threaded
worker processes (each offering one ``slots`` Dask resource), started once per session."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def dask_cluster():
    """The shared ``LocalCluster``; started on first use, closed at the end."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.CRITICAL,
        resources={"slots": 1},
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def dask_address(dask_cluster) -> str:
    """The shared cluster's scheduler address, once both workers are up (a test that
    kills a worker leaves its nanny starting a new one)."""
    dask_cluster.wait_for_workers(2, timeout=30)
    return dask_cluster.scheduler_address
