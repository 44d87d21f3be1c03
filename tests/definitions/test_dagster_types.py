"""Dagster types, as Dagster's docs use them: a ``DagsterType`` with its own check on
inputs and outputs (annotations, ``In``/``Out``, assets), ``TypeCheck`` descriptions in
the failure, a class registered with ``usable_as_dagster_type``, container types, a
loader that builds an unconnected input from run config, and ``check_dagster_type`` in
tests; and what goes wrong: a check that raises, a loader config that does not fit."""

from __future__ import annotations

import pytest

from trellis import (
    DagsterType,
    DagsterTypeCheckError,
    Dict,
    In,
    InvalidConfigError,
    List,
    Optional,
    Out,
    PythonObjectDagsterType,
    Set,
    Tuple,
    TypeCheck,
    asset,
    check_dagster_type,
    dagster_type_loader,
    job,
    make_python_type_usable_as_dagster_type,
    materialize,
    op,
    usable_as_dagster_type,
)
from trellis.core.errors import TypeCheckError


def _is_even(_context, value) -> TypeCheck:
    if isinstance(value, int) and value % 2 == 0:
        return TypeCheck(True)
    return TypeCheck(False, description=f"{value!r} is not an even number")


EvenInt = DagsterType(type_check_fn=_is_even, name="EvenInt", description="An even int.")


def test_outputs_and_inputs_are_checked_with_the_types_function():
    @op(out=Out(EvenInt))
    def make(context) -> int:
        return context.op_config

    @op(config_schema=int)
    def make_configured(context):
        return context.op_config

    @op
    def half(x: EvenInt) -> int:  # type: ignore[valid-type]
        return x // 2

    @job
    def halves():
        half(make_configured())

    assert (
        halves.execute_in_process(
            run_config={"ops": {"make_configured": {"config": 8}}}
        ).output_for_node("half")
        == 4
    )
    with pytest.raises(
        TypeCheckError, match=r"input 'x' of step 'half'.*EvenInt.*7 is not an even"
    ):
        halves.execute_in_process(run_config={"ops": {"make_configured": {"config": 7}}})
    assert make.outs["result"].dagster_type is EvenInt


def test_a_check_that_raises_is_reported_as_its_own_error():
    def broken(_context, value):
        raise ValueError("cannot decide")

    Broken = DagsterType(broken, name="Broken")

    @asset(dagster_type=Broken)
    def thing() -> int:
        return 1

    result = materialize([thing], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert failure.error.cls_name == "DagsterTypeCheckError"
    assert "Dagster type 'Broken' raised ValueError: cannot decide" in failure.error.to_string()
    assert issubclass(DagsterTypeCheckError, Exception)


@usable_as_dagster_type(name="Money")
class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents


def test_a_registered_class_stands_for_its_dagster_type():
    @op
    def price() -> Money:
        return "12.00"  # type: ignore[return-value]

    @job
    def pricing():
        price()

    with pytest.raises(
        TypeCheckError, match=r"Dagster type 'Money'.*str is not an instance of Money"
    ):
        pricing.execute_in_process()

    class Celsius(float):
        pass

    positive = DagsterType(lambda _c, v: v >= -273.15, name="AboveAbsoluteZero")
    make_python_type_usable_as_dagster_type(Celsius, positive)
    assert check_dagster_type(Celsius, Celsius(20)).success
    assert not check_dagster_type(Celsius, -300.0).success


def test_container_types_check_their_items():
    assert check_dagster_type(List[int], [1, 2]).success
    verdict = check_dagster_type(List[int], [1, "2"])
    assert not verdict.success and "[1]" in verdict.description
    assert check_dagster_type(Dict[str, EvenInt], {"a": 2}).success
    assert not check_dagster_type(Dict[str, EvenInt], {"a": 3}).success
    assert check_dagster_type(Optional[EvenInt], None).success
    assert not check_dagster_type(Optional[EvenInt], 5).success
    assert check_dagster_type(Set[str], {"x"}).success
    assert check_dagster_type(Tuple[int, str], (1, "a")).success
    assert not check_dagster_type(Tuple[int, str], (1, 2)).success
    assert not check_dagster_type(Tuple[int, str], (1,)).success
    assert check_dagster_type(PythonObjectDagsterType((int, float)), 1.5).success
    assert not check_dagster_type(int, "x").success


@dagster_type_loader(config_schema={"cents": int})
def money_from_config(_context, config) -> Money:
    return Money(config["cents"])


MoneyType = PythonObjectDagsterType(Money, name="MoneyFromConfig", loader=money_from_config)


def test_a_loader_builds_an_unconnected_input_from_run_config():
    @op(ins={"amount": In(MoneyType)})
    def charge(amount) -> int:
        return amount.cents

    @job
    def charging():
        charge()

    result = charging.execute_in_process(
        run_config={"ops": {"charge": {"inputs": {"amount": {"cents": 250}}}}}
    )
    assert result.output_for_node("charge") == 250
    with pytest.raises(InvalidConfigError, match=r"root:ops:charge:inputs:amount"):
        charging.execute_in_process(
            run_config={"ops": {"charge": {"inputs": {"amount": {"cent": 250}}}}}
        )
