"""SageMaker's Model Registry, as plain Python: model package groups and the model packages in them.

A versioned package lives in a group and gets the group's next version (1, 2, ...; a deleted version's
number is never reused), ARN `arn:aws:sagemaker:{region}:{account}:model-package/{group}/{version}`
with the group lower-cased as in every SageMaker ARN. An unversioned package has its own name and no
approval status. Packages are Completed as soon as they are created (AWS passes through Pending and
InProgress in about a second; nothing here validates a container). Every record is written atomically
under `sagemaker/model-package-groups/` and `sagemaker/model-packages/` before it is answered, so a
restart brings the registry back as it was.

Error codes and texts follow botocore's model and AWS's answers where a public source shows them:
- 'Model Package Group already exists: <group ARN>' (ValidationException; the text code written
  against AWS matches, e.g. the SageMaker MLOps samples' create-if-missing helpers);
- 'ModelPackageGroup <group ARN> does not exist.' and 'ModelPackage <package ARN> does not exist.'
  (ValidationException, as AWS answers DescribeModelPackageGroup / DescribeModelPackage);
- 'Model Package Group does not exist.' for CreateModelPackage into a missing group (moto's text);
- 'Both ModelPackageName and ModelPackageGroupName are provided in the input. Cannot determine which
  one to use.' and 'Missing ARN.' for CreateModelPackage with both or neither (getmoto/moto#7165).
botocore lists ConflictException as DeleteModelPackageGroup's only error: we answer it when the group
still holds packages (the console asks to delete the versions first); that text is ours.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from localcloud.awswire import AwsError, pattern_constraint, public, validation_message
from localcloud.config import CloudConfig
from localcloud.sagemaker.resources import (
    RecordStore,
    arn,
    check_name,
    list_page,
    now,
    require,
    validation,
)

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
PACKAGE_TYPES = ("Versioned", "Unversioned", "Both")
SORT_KEYS = ("Name", "CreationTime")
SORT_ORDERS = ("Ascending", "Descending")
# botocore: ArnOrName / VersionedArnOrName (a group or package named by name or ARN; "/N" = version N).
ARN_OR_NAME = (
    r"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)"
)
VERSIONED_ARN_OR_NAME = ARN_OR_NAME + r"(\/[0-9]{1,9})?"
_ARN_OR_NAME = re.compile(ARN_OR_NAME + "$")
_VERSIONED = re.compile(VERSIONED_ARN_OR_NAME + "$")
PACKAGE_ARN = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/[\S]{1,2048}"  # botocore
_PACKAGE_ARN = re.compile(PACKAGE_ARN + "$")
MAX_DESCRIPTION = 1024
MAX_METADATA_ENTRIES = 50  # botocore: CustomerMetadataMap max 50; keys 1..128, values 1..256 characters
NAME_CONTAINS = r"[a-zA-Z0-9\-]+"  # botocore: NameContains
_NAME_CONTAINS = re.compile(NAME_CONTAINS + "$")
_METADATA_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")

Operation = Callable[[dict[str, Any]], dict[str, Any]]


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, message_key="Message")


def _enum(body: dict[str, Any], key: str, wire_name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(key)
    if value is not None and value not in allowed:
        constraint = f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        raise validation(validation_message(f"'{value}'", wire_name, constraint))
    return value


def _text(body: dict[str, Any], key: str, wire_name: str, limit: int = MAX_DESCRIPTION) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        shown = f"'{value}'" if isinstance(value, str) else "null"
        constraint = f"Member must have length less than or equal to {limit}"
        raise validation(validation_message(shown, wire_name, constraint))
    return value


def _max_results(body: dict[str, Any]) -> None:
    value = body.get("MaxResults")
    if value is not None and not (isinstance(value, int) and 1 <= value <= 100):
        bound = (
            "greater than or equal to 1"
            if isinstance(value, int) and value < 1
            else "less than or equal to 100"
        )
        raise validation(validation_message(f"'{value}'", "maxResults", f"Member must have value {bound}"))


def _metadata(value: Any, wire_name: str) -> dict[str, str]:
    """CustomerMetadataProperties: at most 50 string pairs, keys up to 128 and values up to 256 long."""
    if not isinstance(value, dict) or not 1 <= len(value) <= MAX_METADATA_ENTRIES:
        constraint = f"Member must have length less than or equal to {MAX_METADATA_ENTRIES}"
        raise validation(validation_message("'{...}'", wire_name, constraint))
    for key, item in value.items():
        for text, limit in ((key, 128), (item, 256)):
            if not isinstance(text, str) or not 1 <= len(text) <= limit or not _METADATA_TEXT.match(text):
                constraint = (
                    f"Map value must satisfy constraint: [Member must have length between 1 and {limit}]"
                )
                raise validation(validation_message(f"'{text}'", wire_name, constraint))
    return dict(value)


def _check_inference(spec: Any) -> dict[str, Any]:
    containers = spec.get("Containers") if isinstance(spec, dict) else None
    if not containers or not isinstance(containers, list):
        raise validation(
            validation_message("null", "inferenceSpecification.containers", "Member must not be null")
        )
    for index, container in enumerate(containers):
        if not isinstance(container, dict) or not container.get("Image"):
            where = f"inferenceSpecification.containers.{index + 1}.member.image"
            raise validation(validation_message("null", where, "Member must not be null"))
    return spec


def _check_metrics(metrics: Any) -> dict[str, Any]:
    """ModelMetrics: every MetricsSource in it (ModelQuality.Statistics, Bias.Report, ...) needs both
    ContentType and S3Uri."""
    if not isinstance(metrics, dict):
        raise validation(validation_message("null", "modelMetrics", "Member must not be null"))
    for family, sources in metrics.items():
        for name, source in (sources or {}).items():
            for member in ("ContentType", "S3Uri"):
                if not isinstance(source, dict) or not source.get(member):
                    where = f"modelMetrics.{_camel(family)}.{_camel(name)}.{_camel(member)}"
                    raise validation(validation_message("null", where, "Member must not be null"))
    return metrics


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


class ModelRegistryBackend:
    def __init__(self, config: CloudConfig) -> None:
        self.config = config
        root = config.state_dir / "sagemaker"
        self.groups = RecordStore(root / "model-package-groups")
        # Keyed "<group>.<version>" for versioned packages (a name has no dots) and "<name>" otherwise.
        self.packages = RecordStore(root / "model-packages")
        self._lock = threading.RLock()

    def operations(self) -> dict[str, Operation]:
        """The SageMaker actions this backend answers, for the service's route table."""
        return {
            "CreateModelPackageGroup": self.create_model_package_group,
            "DescribeModelPackageGroup": self.describe_model_package_group,
            "ListModelPackageGroups": self.list_model_package_groups,
            "DeleteModelPackageGroup": self.delete_model_package_group,
            "CreateModelPackage": self.create_model_package,
            "DescribeModelPackage": self.describe_model_package,
            "ListModelPackages": self.list_model_packages,
            "UpdateModelPackage": self.update_model_package,
            "DeleteModelPackage": self.delete_model_package,
        }

    def _arn(self, kind: str, name: str) -> str:
        return arn(self.config.region, kind, name)

    # -- groups -----------------------------------------------------------------------------------

    def create_model_package_group(self, body: dict[str, Any]) -> dict[str, Any]:
        wire = "modelPackageGroupName"
        name = check_name(require(body, "ModelPackageGroupName", wire), wire)
        description = _text(body, "ModelPackageGroupDescription", "modelPackageGroupDescription")
        with self._lock:
            # ARNs are lower-cased, so two names differing only in case would share one ARN.
            if self._find_group(name) is not None:
                raise validation(
                    f"Model Package Group already exists: {self._arn('model-package-group', name)}"
                )
            record = {
                "ModelPackageGroupName": name,
                "ModelPackageGroupArn": self._arn("model-package-group", name),
                "ModelPackageGroupDescription": description,
                "CreationTime": now(),
                "CreatedBy": {},
                "ModelPackageGroupStatus": "Completed",
                "Tags": body.get("Tags") or None,
                "_last_version": 0,
            }
            self.groups.put(name, record)
        return {"ModelPackageGroupArn": record["ModelPackageGroupArn"]}

    def describe_model_package_group(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._group(self._group_name(body))
        return {k: v for k, v in public(record).items() if k != "Tags"}

    def list_model_package_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        _list_arguments(body)
        keys = (
            "ModelPackageGroupName",
            "ModelPackageGroupArn",
            "ModelPackageGroupDescription",
            "CreationTime",
            "ModelPackageGroupStatus",
        )
        return list_page(
            _ascending_by_default(body),
            self.groups.values(),
            list_key="ModelPackageGroupSummaryList",
            name_key="ModelPackageGroupName",
            summary=lambda r: public({k: r.get(k) for k in keys}),
        )

    def delete_model_package_group(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = self._group(self._group_name(body))
            name = record["ModelPackageGroupName"]
            versions = [p for p in self.packages.values() if p.get("ModelPackageGroupName") == name]
            if versions:
                raise conflict(
                    f"Model Package Group {record['ModelPackageGroupArn']} still has {len(versions)} model "
                    "package(s); delete them before the group."
                )
            self.groups.delete(name)
        return {}

    def _group_name(self, body: dict[str, Any]) -> str:
        wire = "modelPackageGroupName"
        value = require(body, "ModelPackageGroupName", wire)
        if not isinstance(value, str) or not _ARN_OR_NAME.match(value):
            raise validation(validation_message(f"'{value}'", wire, pattern_constraint(ARN_OR_NAME)))
        return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value

    def _find_group(self, name: str) -> dict[str, Any] | None:
        lowered = name.lower()
        return next((g for g in self.groups.values() if g["ModelPackageGroupName"].lower() == lowered), None)

    def _group(self, name: str) -> dict[str, Any]:
        record = self._find_group(name)
        if record is None:
            raise validation(f"ModelPackageGroup {self._arn('model-package-group', name)} does not exist.")
        return record

    # -- packages ---------------------------------------------------------------------------------

    def create_model_package(self, body: dict[str, Any]) -> dict[str, Any]:
        group_name, package_name = body.get("ModelPackageGroupName"), body.get("ModelPackageName")
        if group_name and package_name:
            raise validation(
                "Both ModelPackageName and ModelPackageGroupName are provided in the input. "
                "Cannot determine which one to use."
            )
        if not group_name and not package_name:
            raise validation("Missing ARN.")
        fields = self._package_fields(body, versioned=bool(group_name))
        with self._lock:
            if group_name:
                group_name = self._group_name(body)
                group = self._find_group(group_name)
                if group is None:
                    raise validation("Model Package Group does not exist.")
                token = body.get("ClientToken")
                if token:  # a retried request with the same token gets the package it created
                    for record in self.packages.values():
                        if (
                            record.get("_client_token") == token
                            and record.get("ModelPackageGroupName") == group["ModelPackageGroupName"]
                        ):
                            return {"ModelPackageArn": record["ModelPackageArn"]}
                return {"ModelPackageArn": self._create_version(group, fields, token)}
            name = check_name(package_name, "modelPackageName")
            if self.packages.get(name) is not None:
                raise conflict(f"Model Package {self._arn('model-package', name)} already exists.")
            record = {
                "ModelPackageName": name,
                "ModelPackageArn": self._arn("model-package", name),
                **fields,
            }
            self.packages.put(name, record)
        return {"ModelPackageArn": record["ModelPackageArn"]}

    def _create_version(self, group: dict[str, Any], fields: dict[str, Any], token: str | None) -> str:
        name = group["ModelPackageGroupName"]
        version = int(group["_last_version"]) + 1
        record = {
            "ModelPackageName": name,
            "ModelPackageGroupName": name,
            "ModelPackageVersion": version,
            "ModelPackageArn": self._arn("model-package", f"{name}/{version}"),
            **fields,
            "ModelApprovalStatus": fields.get("ModelApprovalStatus") or "PendingManualApproval",
            "_client_token": token,
        }
        # The group's counter first: a crash in between skips a number rather than reusing one.
        self.groups.put(name, {**group, "_last_version": version})
        self.packages.put(f"{name}.{version}", record)
        return record["ModelPackageArn"]

    def _package_fields(self, body: dict[str, Any], *, versioned: bool) -> dict[str, Any]:
        approval = _enum(body, "ModelApprovalStatus", "modelApprovalStatus", APPROVAL_STATUSES)
        if approval and not versioned:
            raise validation("ModelApprovalStatus is not applicable to unversioned model packages.")
        inference = body.get("InferenceSpecification")
        metadata = body.get("CustomerMetadataProperties")
        stamp = now()
        return {
            "ModelPackageDescription": _text(body, "ModelPackageDescription", "modelPackageDescription"),
            "CreationTime": stamp,
            "LastModifiedTime": stamp,
            "InferenceSpecification": _check_inference(inference) if inference is not None else None,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": bool(body.get("CertifyForMarketplace", False)),
            "ModelApprovalStatus": approval,
            "CreatedBy": {},
            "MetadataProperties": body.get("MetadataProperties"),
            "ModelMetrics": _check_metrics(body["ModelMetrics"]) if body.get("ModelMetrics") else None,
            "Domain": body.get("Domain"),
            "Task": body.get("Task"),
            "SamplePayloadUrl": body.get("SamplePayloadUrl"),
            "CustomerMetadataProperties": (
                _metadata(metadata, "customerMetadataProperties") if metadata is not None else None
            ),
            "SourceUri": body.get("SourceUri"),
            "Tags": body.get("Tags") or None,
        }

    def describe_model_package(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._package(body.get("ModelPackageName"), "modelPackageName")
        return {k: v for k, v in public(record).items() if k != "Tags"}

    def list_model_packages(self, body: dict[str, Any]) -> dict[str, Any]:
        _list_arguments(body)
        status = _enum(body, "ModelApprovalStatus", "modelApprovalStatus", APPROVAL_STATUSES)
        kind = _enum(body, "ModelPackageType", "modelPackageType", PACKAGE_TYPES)
        records = self.packages.values()
        if body.get("ModelPackageGroupName"):
            # AWS lists a group's versions whatever the type filter's default ("Unversioned") says.
            group = self._group_name(body).lower()
            records = [r for r in records if (r.get("ModelPackageGroupName") or "").lower() == group]
        elif kind != "Both":
            versioned = kind == "Versioned"
            records = [r for r in records if ("ModelPackageVersion" in r) == versioned]
        if status:
            records = [r for r in records if r.get("ModelApprovalStatus") == status]
        keys = (
            "ModelPackageGroupName",
            "ModelPackageVersion",
            "ModelPackageArn",
            "ModelPackageDescription",
            "CreationTime",
            "ModelPackageStatus",
            "ModelApprovalStatus",
        )
        # Versions of one group share its name: the version breaks ties, so Name sorts them in order.
        rows = [
            {**r, "_sort_name": f"{r['ModelPackageName']}/{r.get('ModelPackageVersion', 0):09d}"}
            for r in records
        ]
        answer = list_page(
            _ascending_by_default(body),
            rows,
            list_key="ModelPackageSummaryList",
            name_key="_sort_name",
            summary=lambda r: public(
                {k: r.get(k) for k in keys}
                # A versioned package's summary names its group and version, not a package name
                # (ListModelPackages answers no ModelPackageName for them: aws/sagemaker-python-sdk#5606).
                | ({} if "ModelPackageVersion" in r else {"ModelPackageName": r["ModelPackageName"]})
            ),
        )
        return answer

    def update_model_package(self, body: dict[str, Any]) -> dict[str, Any]:
        status = _enum(body, "ModelApprovalStatus", "modelApprovalStatus", APPROVAL_STATUSES)
        description = _text(body, "ApprovalDescription", "approvalDescription")
        additions = body.get("CustomerMetadataProperties")
        if additions is not None:
            additions = _metadata(additions, "customerMetadataProperties")
        removals = body.get("CustomerMetadataPropertiesToRemove") or []
        if not isinstance(removals, list) or not all(isinstance(k, str) for k in removals):
            raise validation(
                validation_message("null", "customerMetadataPropertiesToRemove", "Member must not be null")
            )
        with self._lock:
            package_arn = require(body, "ModelPackageArn", "modelPackageArn")
            if not isinstance(package_arn, str) or not _PACKAGE_ARN.match(package_arn):
                constraint = pattern_constraint(PACKAGE_ARN)
                raise validation(validation_message(f"'{package_arn}'", "modelPackageArn", constraint))
            record = self._package(package_arn, "modelPackageArn")
            if "ModelPackageVersion" not in record:
                raise validation(
                    f"Model package {record['ModelPackageArn']} is not versioned: "
                    "only model package versions can be updated."
                )
            record = dict(record)
            if status:
                record["ModelApprovalStatus"] = status
            if description is not None:
                record["ApprovalDescription"] = description
            if additions or removals:
                metadata = {**(record.get("CustomerMetadataProperties") or {}), **(additions or {})}
                metadata = {k: v for k, v in metadata.items() if k not in removals}
                if len(metadata) > MAX_METADATA_ENTRIES:
                    raise validation(
                        f"A model package can have at most {MAX_METADATA_ENTRIES} "
                        "customer metadata properties."
                    )
                record["CustomerMetadataProperties"] = metadata or None
            record["LastModifiedTime"] = now()
            record["LastModifiedBy"] = {}
            self.packages.put(record["_name"], record)
        return {"ModelPackageArn": record["ModelPackageArn"]}

    def delete_model_package(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = self._package(body.get("ModelPackageName"), "modelPackageName")
            self.packages.delete(record["_name"])
        return {}

    def _package(self, value: Any, wire_name: str) -> dict[str, Any]:
        """The package `value` names: an ARN, `group/version`, or an unversioned package's name."""
        if value in (None, ""):
            raise validation(validation_message("null", wire_name, "Member must not be null"))
        if not isinstance(value, str) or not _VERSIONED.match(value):
            raise validation(
                validation_message(f"'{value}'", wire_name, pattern_constraint(VERSIONED_ARN_OR_NAME))
            )
        path = value.split("/", 1)[1] if value.startswith("arn:") else value  # "<name>" or "<group>/<N>"
        name, _, version = path.partition("/")
        lowered = name.lower()
        for record in self.packages.values():
            if record["ModelPackageName"].lower() != lowered:
                continue
            if str(record.get("ModelPackageVersion", "")) == version:
                return record
        raise validation(f"ModelPackage {self._arn('model-package', path)} does not exist.")


def _list_arguments(body: dict[str, Any]) -> None:
    _max_results(body)
    _enum(body, "SortBy", "sortBy", SORT_KEYS)
    _enum(body, "SortOrder", "sortOrder", SORT_ORDERS)
    token = body.get("NextToken")
    if token is not None and not (isinstance(token, str) and token.isdigit()):
        raise validation(f"Invalid pagination token {token!r}.")
    contains = body.get("NameContains")
    if contains is not None and not (isinstance(contains, str) and _NAME_CONTAINS.match(contains)):
        raise validation(
            validation_message(f"'{contains}'", "nameContains", pattern_constraint(NAME_CONTAINS))
        )


def _ascending_by_default(body: dict[str, Any]) -> dict[str, Any]:
    """The registry's lists are oldest first unless told otherwise (botocore: 'The default is Ascending')."""
    return {**body, "SortOrder": body.get("SortOrder") or "Ascending"}
