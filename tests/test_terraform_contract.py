"""Contract between terraform/ and the Python side, read with python-hcl2 (no terraform run):

- names go one way: Python's Stack -> stack.auto.tfvars.json -> Terraform; no .tf file spells a name;
- the variables file has the types variables.tf declares;
- each function's handler exists, and its environment is exactly what its code reads;
- each role is granted exactly the actions its principal calls (handlers: from their boto3 calls);
- the example S3 backend parses.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import botocore.session
import hcl2
import pytest
from botocore import xform_name
from terraform_hcl import (
    ROOT,
    TERRAFORM,
    Module,
    Statement,
    TypeExpr,
    load_hcl,
    statements,
    tf_files,
    type_errors,
)

from handlers import contract
from jobs.stack.names import Stack

STACK_VARS = TERRAFORM / "stack.auto.tfvars.json"
HANDLERS = ROOT / "handlers"

# What each boto3 operation the handlers call needs from IAM. A call not listed here fails
# test_every_aws_call_in_the_handlers_is_mapped: add it, with the action AWS documents for it.
CALL_ACTIONS = {
    "get_object": {"s3:GetObject"},
    "head_object": {"s3:GetObject"},  # HeadObject is authorised as GetObject
    "invoke_endpoint": {"sagemaker:InvokeEndpoint"},
}
# Reading a key also gets s3:ListBucket on that key's prefix, so that a missing key is 404 NoSuchKey
# (which the handlers answer as "run make train") rather than 403 AccessDenied.
IMPLIED_ACTIONS = {"s3:GetObject": {"s3:ListBucket"}}
# What the Lambda service does with a function's role, whatever the code: write the function's
# logs, decrypt its KMS-encrypted environment and the SSE-KMS objects it reads, and send a failed
# asynchronous event to its dead-letter queue.
FUNCTION_PLATFORM_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "kms:Decrypt", "sqs:SendMessage"}
# What SageMaker does with the training role for the request jobs send (S3Prefix channels under the
# input prefix, artifacts under the output prefix, bucket encrypted with the stack key), and with the
# model role for a Model whose artifact is under the output prefix.
TRAINING_ACTIONS = {
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
    "cloudwatch:PutMetricData",
}
MODEL_ACTIONS = {
    "s3:GetObject",
    "kms:Decrypt",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogStreams",
    "cloudwatch:PutMetricData",
}
# Variables Python writes at build time (build.auto.tfvars.json), not part of the committed names.
BUILD_VARIABLES = {"lambda_package", "layer_package"}


@pytest.fixture(scope="module")
def stack_vars() -> dict:
    return json.loads(STACK_VARS.read_text())


@pytest.fixture(scope="module")
def root() -> Module:
    return Module.load(TERRAFORM)


@pytest.fixture(scope="module")
def iam() -> Module:
    return Module.load(TERRAFORM / "modules" / "iam")


# --- names go one way ----------------------------------------------------------------------------


def test_stack_vars_name_what_jobs_stack_names(stack_vars: dict) -> None:
    stack = Stack()
    assert stack_vars["bucket_name"] == stack.bucket
    assert stack_vars["prefixes"] == {
        "data": stack.data_prefix,
        "input": stack.input_prefix,
        "output": stack.output_prefix,
        "registry": stack.registry_prefix,
        "index": stack.index_prefix,
    }
    assert stack_vars["endpoint_names"] == [slot.endpoint for slot in stack.models]
    assert set(stack_vars["functions"]) == {spec.name for spec in stack.functions}
    for spec in stack.functions:
        function = stack_vars["functions"][spec.name]
        assert (function["handler"], function["timeout"], function["memory_size"]) == (
            spec.handler,
            spec.timeout,
            spec.memory_size,
        )
        assert function["environment"] == stack.function_environment(spec)


def test_no_tf_file_spells_a_stack_name(stack_vars: dict) -> None:
    names = {stack_vars["bucket_name"], *stack_vars["endpoint_names"], *stack_vars["prefixes"].values()}
    for name, function in stack_vars["functions"].items():
        # The scale's numbers and the titles' encoding are settings, not names (a "5" is in every file).
        settings = {contract.RATING_MIN, contract.RATING_MAX, contract.TITLES_ENCODING}
        values = [value for key, value in function["environment"].items() if key not in settings]
        names |= {name, function["handler"], *function["environment"], *values}
    spelled = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in tf_files()
        for name in names
        if name in path.read_text()
    ]
    assert spelled == []


def test_stack_vars_have_the_declared_types(stack_vars: dict, root: Module) -> None:
    declared = set(root.variables)
    assert set(stack_vars) <= declared, f"undeclared: {set(stack_vars) - declared}"
    required = {name for name, body in root.variables.items() if "default" not in body}
    assert required - set(stack_vars) == BUILD_VARIABLES
    errors = [e for name, value in stack_vars.items() for e in type_errors(value, _type(root, name), name)]
    assert errors == []


def test_build_and_models_files_have_the_declared_types(root: Module) -> None:
    """The shapes the AWS backend writes before apply, and `make train` after registering models."""
    build = {
        "lambda_package": {"path": "/abs/.work/aws/handlers.zip", "sha256_base64": "q1w2e3=="},
        "layer_package": {"path": "/abs/.work/aws/numpy-layer.zip", "sha256_base64": "r4t5y6=="},
    }
    models = {
        "models": {
            "ratingModel": {
                "model_version": "ratingModel-v0001-c6793960",
                "model_data_url": "s3://b/object2vec/movielens/output/job/output/model.tar.gz",
                "instance_type": "ml.m5.large",
                "instance_count": 1,
            },
            "topNModel": {
                "model_version": "topNModel-v0002-a5b60c5b",
                "model_data_url": "s3://b/object2vec/movielens/output/job2/output/model.tar.gz",
                "serverless": {"memory_size_in_mb": 2048, "max_concurrency": 5},
            },
        }
    }
    for document in (build, models):
        assert [e for n, v in document.items() for e in type_errors(v, _type(root, n), n)] == []
    # Terraform converts a number to a string, but not a list; and it rejects unknown attributes.
    wrong = {"ratingModel": {"model_version": "v", "model_data_url": ["s3://b/k"], "instances": 2}}
    assert sorted(type_errors(wrong, _type(root, "models"), "models")) == [
        "models.ratingModel.instances: not an attribute of the declared object",
        "models.ratingModel.model_data_url: expected a string, got ['s3://b/k']",
    ]


def _type(module: Module, name: str) -> TypeExpr:
    return TypeExpr.parse(module.variables[name]["type"])


def test_root_passes_functions_through_without_literals(root: Module) -> None:
    call = root.modules["lambda_function"]
    assert call["for_each"] == "var.functions"
    assert call["function_name"] == "each.key"
    assert call["handler"] == "each.value.handler"
    assert call["environment"] == "each.value.environment"
    assert root.modules["sagemaker_endpoint"]["for_each"] == "var.models"


# --- handlers: entry points, environment, AWS calls ----------------------------------------------


@dataclass(frozen=True)
class HandlerCode:
    """What a handler's code (its module and the handlers modules it imports) does."""

    env_required: frozenset[str]  # settings.env(...) without a default: first spelling
    env_read: frozenset[str]  # every variable name read, every spelling
    aws_calls: frozenset[str]  # boto3 operation names called
    data_files: tuple[str, ...]  # data_file(bucket, "<name>", ...) names


@cache
def _aws_operations() -> frozenset[str]:
    session = botocore.session.get_session()
    return frozenset(
        xform_name(operation)
        for service in ("s3", "sagemaker-runtime", "sagemaker", "lambda", "logs", "sqs", "kms")
        for operation in session.get_service_model(service).operation_names
    )


def _handler_modules(module: str) -> list[Path]:
    """`module` and, transitively, every handlers module it imports."""
    seen: list[str] = []
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        tree = ast.parse((HANDLERS / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "handlers":
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("handlers."):
                todo.append(node.module.split(".", 1)[1])
    return [HANDLERS / f"{name}.py" for name in seen]


def _strings(node: ast.expr) -> list[str]:
    """The strings an argument can be: a literal, a `contract.NAME`, or either branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "contract":
        value = getattr(contract, node.attr)
        return [value] if isinstance(value, str) else []
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def handler_code(handler: str) -> HandlerCode:
    module = handler.split(".")[1]
    required, read, calls, data_files = set(), set(), set(), []
    for path in _handler_modules(module):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = _strings(node.args[0]) if node.args else []
            if name in ("env", "env_float") and first:
                read |= set(first)
                if name == "env" and not any(k.arg == "default" for k in node.keywords):
                    required |= set(first)
            elif name == "data_file" and len(node.args) > 1:
                data_files += _strings(node.args[1])
            if isinstance(node.func, ast.Attribute) and name in _aws_operations():
                calls.add(name)
    return HandlerCode(frozenset(required), frozenset(read), frozenset(calls), tuple(sorted(set(data_files))))


def test_handlers_exist(stack_vars: dict) -> None:
    for name, function in stack_vars["functions"].items():
        module_name, _, attribute = function["handler"].rpartition(".")
        assert module_name.startswith("handlers."), f"{name}: the zip holds the handlers package only"
        assert callable(getattr(importlib.import_module(module_name), attribute, None)), function["handler"]


def test_environment_is_what_the_code_reads(stack_vars: dict) -> None:
    for name, function in stack_vars["functions"].items():
        code = handler_code(function["handler"])
        environment = set(function["environment"])
        assert code.env_required <= environment, f"{name} needs {sorted(code.env_required - environment)}"
        assert environment <= code.env_read, f"{name} sets {sorted(environment - code.env_read)}, never read"


def test_every_aws_call_in_the_handlers_is_mapped() -> None:
    for path in HANDLERS.glob("*.py"):
        calls = handler_code(f"handlers.{path.stem}.x").aws_calls
        assert calls <= set(CALL_ACTIONS), f"{path.name} calls {sorted(calls - set(CALL_ACTIONS))}: map them"


def test_the_mapping_sees_each_handlers_calls() -> None:
    """Guards the AST scan itself: if it found nothing, the IAM test below would prove nothing."""
    assert handler_code("handlers.recommendation_engine.x").aws_calls == {"get_object", "invoke_endpoint"}
    assert handler_code("handlers.movie_retrieval.x").aws_calls == {"get_object", "head_object"}


def _needed_actions(code: HandlerCode) -> set[str]:
    actions = {action for call in code.aws_calls for action in CALL_ACTIONS[call]}
    return actions | {implied for action in actions for implied in IMPLIED_ACTIONS.get(action, ())}


def _granted(statements_: list[Statement], function: dict) -> set[str]:
    """The actions a function's role gets: static statements, and dynamic ones whose for_each list
    (`length(each.value.<field>) > 0 ? [1] : []`) is not empty for this function."""
    granted = set()
    for statement in statements_:
        if statement.only_when:
            match = re.fullmatch(r"length\(each\.value\.(\w+)\) > 0 \? \[1\] : \[\]", statement.only_when)
            assert match, f"{statement.sid}: cannot evaluate for_each {statement.only_when!r}"
            if not function[match.group(1)]:
                continue
        granted |= set(statement.actions)
    return granted


def test_each_function_role_grants_exactly_what_its_code_calls(stack_vars: dict, iam: Module) -> None:
    document = statements(iam.data[("aws_iam_policy_document", "function")])
    for name, function in stack_vars["functions"].items():
        code = handler_code(function["handler"])
        expected = _needed_actions(code) | FUNCTION_PLATFORM_ACTIONS
        assert _granted(document, function) == expected, name


def test_each_function_invokes_and_reads_only_its_own(stack_vars: dict) -> None:
    stack = Stack()
    for name, function in stack_vars["functions"].items():
        code, environment = handler_code(function["handler"]), function["environment"]
        endpoints = sorted(environment[v] for v in environment if v.startswith("ENDPOINT_NAME"))
        expected = endpoints if "invoke_endpoint" in code.aws_calls else []
        assert sorted(function["invokes_endpoints"]) == expected, name
        if code.data_files:  # the recommendation engine: DATA_PREFIX/<file>
            keys = [f"{environment['DATA_PREFIX']}/{file}" for file in code.data_files]
            assert sorted(function["reads_keys"]) == keys, name
        else:  # retrieval: the index folder of its endpoint, pointer and versions
            folder = f"{environment['INDEX_PREFIX']}/{environment['ENDPOINT_NAME']}/"
            assert function["reads_keys"] == [folder], name
            endpoint = environment[contract.ENDPOINT_NAME]
            assert contract.index_pointer_key(stack.index_prefix, endpoint).startswith(folder)
            assert contract.index_object_key(stack.index_prefix, endpoint, "v1").startswith(folder)


def test_endpoint_arns_are_lower_cased(iam: Module) -> None:
    invoke = next(
        s
        for s in statements(iam.data[("aws_iam_policy_document", "function")])
        if s.sid == "InvokeOwnEndpoints"
    )
    assert ":endpoint/${lower(name)}" in invoke.resources
    assert "each.value.invokes_endpoints" in invoke.resources


def test_sagemaker_roles_grant_exactly_what_sagemaker_needs(iam: Module) -> None:
    training = statements(iam.data[("aws_iam_policy_document", "training")])
    model = statements(iam.data[("aws_iam_policy_document", "model")])
    assert {a for s in training for a in s.actions} == TRAINING_ACTIONS
    assert {a for s in model for a in s.actions} == MODEL_ACTIONS
    listing = next(s for s in training if "s3:ListBucket" in s.actions)
    assert listing.conditions[0]["variable"] == "s3:prefix"
    assert set(listing.conditions[0]["values"]) == {"${var.input_prefix}/*", "${var.output_prefix}/*"}


def _all_statements() -> list[tuple[Path, str, Statement]]:
    found = []
    for folder in sorted({path.parent for path in tf_files()}):
        module = Module.load(folder)
        for (kind, name), body in module.data.items():
            if kind == "aws_iam_policy_document":
                found += [(folder, name, statement) for statement in statements(body)]
    return found


def test_no_wildcard_actions_and_star_resources_only_where_aws_has_no_narrower() -> None:
    checked = 0
    for folder, document, statement in _all_statements():
        checked += 1
        where = f"{folder.relative_to(ROOT)} {document} {statement.sid}"
        if statement.effect == "Deny":
            continue
        for action in statement.actions:
            # The one exception: the key policy's account statement, AWS's default `kms:*` on the key.
            if action == "kms:*" and folder.name == "kms_key":
                assert statement.resources == ["aws_kms_key.this.arn"], where
                continue
            assert action != "*", where
            assert not action.endswith(":*"), f"{where}: {action}"
        if statement.resources == ["*"]:
            assert set(statement.actions) == {"cloudwatch:PutMetricData"}, where
            assert statement.conditions[0]["variable"] == "cloudwatch:namespace", where
    assert checked >= 15


def test_no_managed_policy_is_attached() -> None:
    text = "\n".join(path.read_text() for path in tf_files())
    assert "aws_iam_role_policy_attachment" not in text
    assert "managed_policy_arns" not in text


# --- state ---------------------------------------------------------------------------------------


def test_example_s3_backend_parses() -> None:
    with (TERRAFORM / "backend.s3.tf.example").open() as handle:
        document = hcl2.load(handle)
    backend = document["terraform"][0]["backend"][0]
    s3 = backend['"s3"']
    assert {key for key in s3 if not key.startswith("__")} == {
        "bucket",
        "key",
        "region",
        "encrypt",
        "use_lockfile",
    }
    assert s3["encrypt"] is True
    assert s3["use_lockfile"] is True
    assert json.loads(s3["key"]).endswith(".tfstate")
    assert json.loads(s3["bucket"]) != json.loads(STACK_VARS.read_text())["bucket_name"]


def test_state_and_generated_files_are_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for pattern in ("*.tfstate", "terraform/build.auto.tfvars.json", "terraform/models.auto.tfvars.json"):
        assert pattern in ignored


# --- module conventions (terraform-aws-modules) --------------------------------------------------

MODULE_FILES = {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"}


def _module_folders() -> list[Path]:
    return [TERRAFORM, *sorted(path for path in (TERRAFORM / "modules").iterdir() if path.is_dir())]


def test_every_module_has_the_five_files_typed_described_variables_and_outputs() -> None:
    assert {path.name for path in _module_folders()[1:]} >= {
        "data_bucket",
        "iam",
        "lambda_layer",
        "lambda_function",
        "sagemaker_endpoint",
    }
    for folder in _module_folders():
        where = folder.relative_to(ROOT)
        assert {path.name for path in folder.iterdir()} >= MODULE_FILES, where
        module = Module.load(folder)
        for name, body in module.variables.items():
            assert body.get("type"), f"{where}: variable {name} has no type"
            assert len(body.get("description", "")) >= 10, f"{where}: variable {name} has no description"
        for name, body in module.outputs.items():
            assert len(body.get("description", "")) >= 10, f"{where}: output {name} has no description"
        versions = load_hcl(folder / "versions.tf")["terraform"][0]
        assert versions["required_version"].startswith(">="), where
        aws = versions["required_providers"][0]["aws"]
        assert aws["source"] == "hashicorp/aws", where
        assert aws["version"] in ("~> 6.0", ">= 6.0, < 7.0"), where


def test_closed_sets_are_validated() -> None:
    """Variables whose valid values are a closed set say so with a validation block."""
    closed = {"lambda_runtime", "lambda_architecture", "runtime", "architecture", "log_retention_days"}
    for folder in _module_folders():
        for name, body in Module.load(folder).variables.items():
            if name in closed:
                assert body.get("validation"), f"{folder.relative_to(ROOT)}: {name} has no validation"


def test_provider_has_default_tags(root: Module) -> None:
    provider = load_hcl(TERRAFORM / "main.tf")["provider"][0]["aws"]
    assert provider["region"] == "var.region"
    assert "Project" in provider["default_tags"][0]["tags"]


def test_module_readmes_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "terraform-docs"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
