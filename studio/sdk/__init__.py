"""DAG Studio's Airflow-compatible authoring and execution API.

Inside DAG Studio's processes an import hook (``studio.sdk.hook``) serves ``airflow.*`` from these
modules, so the very DAG file written for Airflow runs here. This package imports only the standard
library, ``studio.core``, jinja2 and pendulum (lazily)."""

from __future__ import annotations

from studio.sdk.assets import Asset, AssetAlias, AssetAll, AssetAny, Dataset
from studio.sdk.baseoperator import BaseOperator, chain, chain_linear, cross_downstream
from studio.sdk.context import Connection, Context, Variable, get_current_context, get_parsing_context
from studio.sdk.dag import DAG, dag
from studio.sdk.decorators import setup, task, teardown
from studio.sdk.edges import EdgeModifier, Label
from studio.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    DagFileError,
)
from studio.sdk.mapped import MappedOperator
from studio.sdk.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from studio.sdk.params import Param, ParamsDict
from studio.sdk.sensors import BaseSensorOperator, FileSensor, PokeReturnValue, PythonSensor
from studio.sdk.taskgroup import TaskGroup, task_group
from studio.sdk.trigger_rule import TriggerRule
from studio.sdk.xcom_arg import XComArg

__all__ = [
    "DAG",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "BaseOperator",
    "BaseSensorOperator",
    "BashOperator",
    "BranchPythonOperator",
    "Connection",
    "Context",
    "DagFileError",
    "Dataset",
    "EdgeModifier",
    "EmptyOperator",
    "FileSensor",
    "Label",
    "MappedOperator",
    "Param",
    "ParamsDict",
    "PokeReturnValue",
    "PythonOperator",
    "PythonSensor",
    "ShortCircuitOperator",
    "TaskGroup",
    "TriggerRule",
    "Variable",
    "XComArg",
    "chain",
    "chain_linear",
    "cross_downstream",
    "dag",
    "get_current_context",
    "get_parsing_context",
    "setup",
    "task",
    "task_group",
    "teardown",
]
