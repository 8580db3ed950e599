"""SageMaker's Model Registry on the local cloud, through boto3: groups, versioned and unversioned
packages, approval, metadata, lists and paging, AWS's errors, and the registry surviving kill -9."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from localcloud_support import O2V_IMAGE, Cloud, error_of, new_cloud

pytestmark = pytest.mark.slow
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
INFERENCE = {
    "Containers": [{"Image": O2V_IMAGE, "ModelDataUrl": "s3://models/rating/model.tar.gz"}],
    "SupportedContentTypes": ["application/json"],
    "SupportedResponseMIMETypes": ["application/json"],
}


def metrics(uri: str) -> dict:
    return {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}}


@pytest.fixture(scope="module")
def sm(cloud: Cloud):
    return cloud.client("sagemaker")


def versions(sm, group: str, **filters) -> list[int]:
    pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group, **filters)
    return [s["ModelPackageVersion"] for page in pages for s in page["ModelPackageSummaryList"]]


def test_groups(sm):
    arn = sm.create_model_package_group(
        ModelPackageGroupName="ratingModel", ModelPackageGroupDescription="rating regressor"
    )["ModelPackageGroupArn"]
    assert arn == f"{ARN}:model-package-group/ratingmodel"  # lower-cased, like every SageMaker ARN
    described = sm.describe_model_package_group(ModelPackageGroupName="ratingModel")
    assert described["ModelPackageGroupName"] == "ratingModel"
    assert described["ModelPackageGroupStatus"] == "Completed"
    assert described["ModelPackageGroupDescription"] == "rating regressor"
    assert sm.describe_model_package_group(ModelPackageGroupName=arn)["ModelPackageGroupArn"] == arn
    sm.create_model_package_group(ModelPackageGroupName="topNModel")
    listed = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in listed][:2] == ["ratingModel", "topNModel"]  # oldest first
    newest = sm.list_model_package_groups(SortOrder="Descending", NameContains="Model", MaxResults=1)
    assert [g["ModelPackageGroupName"] for g in newest["ModelPackageGroupSummaryList"]] == ["topNModel"]
    assert newest["NextToken"]

    code, message, status, _ = error_of(
        lambda: sm.create_model_package_group(ModelPackageGroupName="RatingModel")
    )
    assert (code, status, message) == (
        "ValidationException",
        400,
        f"Model Package Group already exists: {ARN}:model-package-group/ratingmodel",
    )
    code, message, _, _ = error_of(lambda: sm.describe_model_package_group(ModelPackageGroupName="nope"))
    assert (code, message) == (
        "ValidationException",
        f"ModelPackageGroup {ARN}:model-package-group/nope does not exist.",
    )
    code, message, _, _ = error_of(lambda: sm.create_model_package_group(ModelPackageGroupName="bad_name"))
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value 'bad_name' at 'modelPackageGroupName'")
    code, message, _, _ = error_of(lambda: sm.list_model_package_groups(SortBy="Size"))
    assert "Member must satisfy enum value set: [Name, CreationTime]" in message

    sm.delete_model_package_group(ModelPackageGroupName="topNModel")
    code, _, _, _ = error_of(lambda: sm.describe_model_package_group(ModelPackageGroupName="topNModel"))
    assert code == "ValidationException"
    code, _, _, _ = error_of(lambda: sm.delete_model_package_group(ModelPackageGroupName="topNModel"))
    assert code == "ValidationException"


def test_versions_approval_and_metadata(sm):
    group = "recommendationModel"
    sm.create_model_package_group(ModelPackageGroupName=group)
    arns = [
        sm.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"run {n}",
            InferenceSpecification=INFERENCE,
            ModelMetrics=metrics(f"s3://models/eval/{n}.json"),
            CustomerMetadataProperties={"profile": "recommendation", "test_accuracy": f"0.70{n}"},
        )["ModelPackageArn"]
        for n in (1, 2, 3)
    ]
    assert arns == [f"{ARN}:model-package/recommendationmodel/{n}" for n in (1, 2, 3)]
    first = sm.describe_model_package(ModelPackageName=arns[0])
    assert first["ModelPackageGroupName"] == group
    assert first["ModelPackageVersion"] == 1
    assert first["ModelApprovalStatus"] == "PendingManualApproval"  # the default for a version
    assert first["ModelPackageStatus"] == "Completed"
    assert first["InferenceSpecification"] == INFERENCE
    assert first["ModelMetrics"] == metrics("s3://models/eval/1.json")
    assert first["CustomerMetadataProperties"] == {"profile": "recommendation", "test_accuracy": "0.701"}
    assert sm.describe_model_package(ModelPackageName=f"{group}/2")["ModelPackageArn"] == arns[1]

    sm.update_model_package(
        ModelPackageArn=arns[1], ModelApprovalStatus="Approved", ApprovalDescription="gate"
    )
    sm.update_model_package(
        ModelPackageArn=arns[2],
        ModelApprovalStatus="Rejected",
        CustomerMetadataProperties={"reason": "worse"},
        CustomerMetadataPropertiesToRemove=["profile"],
    )
    second, third = (sm.describe_model_package(ModelPackageName=a) for a in arns[1:])
    assert (second["ModelApprovalStatus"], second["ApprovalDescription"]) == ("Approved", "gate")
    assert second["LastModifiedTime"] >= second["CreationTime"]
    assert third["CustomerMetadataProperties"] == {"test_accuracy": "0.703", "reason": "worse"}

    assert versions(sm, group) == [1, 2, 3]
    assert versions(sm, group, ModelApprovalStatus="Approved") == [2]
    assert versions(sm, group, SortBy="CreationTime", SortOrder="Descending") == [3, 2, 1]
    assert versions(sm, group, PaginationConfig={"PageSize": 1}) == [1, 2, 3]  # NextToken round trips
    summary = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=1)["ModelPackageSummaryList"][0]
    assert set(summary) >= {
        "ModelPackageArn",
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelApprovalStatus",
    }
    assert "ModelPackageName" not in summary  # AWS names a version by group and number in lists

    sm.delete_model_package(ModelPackageName=arns[2])
    again = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)
    assert again["ModelPackageArn"].endswith("/4")  # a deleted version's number is never reused
    code, message, _, _ = error_of(lambda: sm.delete_model_package_group(ModelPackageGroupName=group))
    assert code == "ConflictException"
    assert f"{ARN}:model-package-group/recommendationmodel" in message


def test_package_errors(sm):
    sm.create_model_package_group(ModelPackageGroupName="errors")
    code, message, _, _ = error_of(
        lambda: sm.create_model_package(ModelPackageGroupName="errors", ModelPackageName="both")
    )
    assert (code, message) == (
        "ValidationException",
        "Both ModelPackageName and ModelPackageGroupName are provided in the input. Cannot determine "
        "which one to use.",
    )
    assert error_of(lambda: sm.create_model_package(InferenceSpecification=INFERENCE))[:2] == (
        "ValidationException",
        "Missing ARN.",
    )
    assert error_of(lambda: sm.create_model_package(ModelPackageGroupName="missing"))[:2] == (
        "ValidationException",
        "Model Package Group does not exist.",
    )
    code, message, _, _ = error_of(
        lambda: sm.create_model_package(ModelPackageGroupName="errors", ModelApprovalStatus="Maybe")
    )
    assert message == (
        "1 validation error detected: Value 'Maybe' at 'modelApprovalStatus' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]"
    )
    code, message, _, _ = error_of(
        lambda: sm.create_model_package(
            ModelPackageGroupName="errors",
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": ""}}},
        )
    )
    assert "'modelMetrics.modelQuality.statistics.s3Uri'" in message
    code, message, _, _ = error_of(
        lambda: sm.create_model_package(
            ModelPackageGroupName="errors", CustomerMetadataProperties={"k": "x" * 257}
        )
    )
    assert (code, "customerMetadataProperties" in message) == ("ValidationException", True)
    code, message, _, _ = error_of(lambda: sm.describe_model_package(ModelPackageName="errors/9"))
    assert (code, message) == (
        "ValidationException",
        f"ModelPackage {ARN}:model-package/errors/9 does not exist.",
    )
    code, message, _, _ = error_of(lambda: sm.describe_model_package(ModelPackageName="not a name"))
    assert "at 'modelPackageName' failed to satisfy constraint" in message
    code, message, _, _ = error_of(
        lambda: sm.update_model_package(ModelPackageArn="errors/1", ModelApprovalStatus="Approved")
    )
    assert "at 'modelPackageArn' failed to satisfy constraint" in message
    code, message, _, _ = error_of(
        lambda: sm.list_model_packages(ModelPackageGroupName="errors", MaxResults=101)
    )
    assert "Member must have value less than or equal to 100" in message
    code, _, _, _ = error_of(
        lambda: sm.delete_model_package(ModelPackageName=f"{ARN}:model-package/errors/1")
    )
    assert code == "ValidationException"


def test_unversioned_packages_and_idempotent_retries(sm):
    arn = sm.create_model_package(ModelPackageName="standalone", InferenceSpecification=INFERENCE)[
        "ModelPackageArn"
    ]
    assert arn == f"{ARN}:model-package/standalone"
    described = sm.describe_model_package(ModelPackageName="standalone")
    assert "ModelApprovalStatus" not in described
    assert "ModelPackageVersion" not in described
    unversioned = sm.list_model_packages()["ModelPackageSummaryList"]  # AWS's default type: Unversioned
    assert [s["ModelPackageName"] for s in unversioned] == ["standalone"]
    both = sm.list_model_packages(ModelPackageType="Both", MaxResults=100)["ModelPackageSummaryList"]
    assert len(both) > 1
    code, _, _, _ = error_of(lambda: sm.create_model_package(ModelPackageName="standalone"))
    assert code == "ConflictException"
    code, _, _, _ = error_of(
        lambda: sm.create_model_package(ModelPackageName="approved", ModelApprovalStatus="Approved")
    )
    assert code == "ValidationException"
    code, _, _, _ = error_of(
        lambda: sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    )
    assert code == "ValidationException"

    sm.create_model_package_group(ModelPackageGroupName="retried")
    once = sm.create_model_package(ModelPackageGroupName="retried", ClientToken="token-1")["ModelPackageArn"]
    twice = sm.create_model_package(ModelPackageGroupName="retried", ClientToken="token-1")["ModelPackageArn"]
    assert once == twice
    assert versions(sm, "retried") == [1]


# -- restart ---------------------------------------------------------------------------------------------


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Cloud]:
    created = new_cloud(tmp_path / "state")
    yield created
    created.stop(grace=2)


def test_the_registry_survives_a_crash(fresh: Cloud):
    pid = fresh.start()
    sm = fresh.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName="kept")
    for _ in range(2):
        sm.create_model_package(ModelPackageGroupName="kept", InferenceSpecification=INFERENCE)
    sm.update_model_package(ModelPackageArn=f"{ARN}:model-package/kept/2", ModelApprovalStatus="Approved")
    sm.delete_model_package(ModelPackageName=f"{ARN}:model-package/kept/2")
    sm.create_model_package(ModelPackageGroupName="kept", ModelApprovalStatus="Approved")

    fresh.kill9(pid)  # no shutdown: only what was written before each answer is there
    fresh.start()
    sm = fresh.client("sagemaker")
    assert (
        sm.describe_model_package_group(ModelPackageGroupName="kept")["ModelPackageGroupStatus"]
        == "Completed"
    )
    assert versions(sm, "kept") == [1, 3]
    assert versions(sm, "kept", ModelApprovalStatus="Approved") == [3]
    fourth = sm.create_model_package(ModelPackageGroupName="kept")["ModelPackageArn"]
    assert fourth.endswith("/4")  # the version counter survived too
