"""docs/aws-operator-policy.json, the policy the person running `make ... BACKEND=aws` needs, grants
every AWS call the jobs make on the AWS path (found in the code with `ast`), and iam:PassRole on the
stack's roles for SageMaker and Lambda only."""

from __future__ import annotations

import ast
import fnmatch
import json
from functools import cache
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "docs" / "aws-operator-policy.json"
# The code of the AWS path: the stack operations and the AWS backend (not the local backend).
AWS_PATH = [
    *sorted((ROOT / "jobs" / "stack").glob("*.py")),
    *sorted((ROOT / "jobs" / "backends" / "aws").glob("*.py")),
]
SERVICES = {
    "s3": "s3",
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "lambda": "lambda",
    "logs": "logs",
    "sts": "sts",
}
# Calls whose IAM action is not service:OperationName.
SPECIAL = {
    "head_bucket": "s3:ListBucket",
    "list_objects_v2": "s3:ListBucket",
    "upload_file": "s3:PutObject",  # boto3's transfer manager: PutObject, or a multipart upload of it
    "invoke": "lambda:InvokeFunction",
}
# Method names that are AWS operations elsewhere but not here: `re.Pattern.search`.
NOT_AWS = {"search"}


@cache
def operations() -> dict[str, str]:
    session = botocore.session.get_session()
    found: dict[str, str] = {}
    for service, prefix in SERVICES.items():
        for operation in session.get_service_model(service).operation_names:
            found.setdefault(xform_name(operation), f"{prefix}:{operation}")
    return found


def aws_calls() -> dict[str, set[str]]:
    """IAM action -> the files that need it."""
    needed: dict[str, set[str]] = {}
    for path in AWS_PATH:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
                name = node.args[0].value
            if name in NOT_AWS:
                continue
            action = SPECIAL.get(name) or operations().get(name)
            if action:
                needed.setdefault(action, set()).add(path.name)
    return needed


def allowed(policy: dict, action: str) -> bool:
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in _list(statement["Action"]))
        for statement in policy["Statement"]
    )


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@pytest.fixture(scope="module")
def policy() -> dict:
    return json.loads(POLICY.read_text())


def test_the_scan_finds_the_aws_path_calls() -> None:
    needed = aws_calls()
    for action in (
        "sagemaker:CreateTrainingJob",
        "s3:PutObject",
        "logs:GetLogEvents",
        "lambda:InvokeFunction",
    ):
        assert action in needed


def test_every_call_on_the_aws_path_is_granted(policy: dict) -> None:
    missing = {action: sorted(files) for action, files in aws_calls().items() if not allowed(policy, action)}
    assert missing == {}


def test_pass_role_only_to_sagemaker_and_lambda_on_the_stack_roles(policy: dict) -> None:
    statements = [s for s in policy["Statement"] if "iam:PassRole" in _list(s["Action"])]
    assert len(statements) == 1
    statement = statements[0]
    assert _list(statement["Action"]) == ["iam:PassRole"]
    assert _list(statement["Resource"]) == ["arn:aws:iam::*:role/o2v-demo-*"]
    services = statement["Condition"]["StringEquals"]["iam:PassedToService"]
    assert sorted(services) == ["lambda.amazonaws.com", "sagemaker.amazonaws.com"]


def test_star_resources_only_for_actions_that_have_no_resource(policy: dict) -> None:
    unscoped = {
        "sts:GetCallerIdentity",
        "kms:CreateKey",
        "kms:ListAliases",
        "logs:DescribeLogGroups",
        "sagemaker:ListTrainingJobs",
        "sagemaker:ListModelPackages",  # a list action: IAM gives it no resource type
    }
    for statement in policy["Statement"]:
        if statement["Resource"] == "*":
            assert set(_list(statement["Action"])) <= unscoped, statement["Sid"]
        for action in _list(statement["Action"]):
            assert action != "*", statement["Sid"]
