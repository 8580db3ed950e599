"""CKV_O2V_1: no AWS-managed `*FullAccess` policy is attached to a role, user or group.

checkov's own checks look at policy documents, not at which managed policy an attachment names, so
`AmazonSageMakerFullAccess` on an execution role (what the console and many modules attach) passes
them all. Every role here gets an inline policy that names its resources instead.

Runs inside checkov's own venv (scripts/checkov), so it may import checkov.
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# arn:<partition>:iam::aws:policy/[path/]<Name>FullAccess — AWS's own account id is the literal "aws".
AWS_MANAGED_FULL_ACCESS = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]*FullAccess$"
)

# Resource type -> the arguments that name managed policies.
POLICY_ARGUMENTS = {
    "aws_iam_role_policy_attachment": ("policy_arn",),
    "aws_iam_user_policy_attachment": ("policy_arn",),
    "aws_iam_group_policy_attachment": ("policy_arn",),
    "aws_iam_policy_attachment": ("policy_arn",),
    "aws_iam_role": ("managed_policy_arns",),
    "aws_iam_role_policy_attachments_exclusive": ("policy_arns",),
    "aws_iam_user_policy_attachments_exclusive": ("policy_arns",),
    "aws_iam_group_policy_attachments_exclusive": ("policy_arns",),
}


def full_access_arns(conf: dict[str, Any], arguments: tuple[str, ...]) -> list[str]:
    """The AWS-managed *FullAccess ARNs among the values of `arguments` (checkov wraps values in lists)."""
    found = []
    for argument in arguments:
        stack = list(conf.get(argument, []))
        while stack:
            value = stack.pop()
            if isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, str) and AWS_MANAGED_FULL_ACCESS.match(value.strip()):
                found.append(value.strip())
    return found


class NoAwsManagedFullAccess(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no AWS-managed *FullAccess policy is attached",
            id="CKV_O2V_1",
            categories=(CheckCategories.IAM,),
            supported_resources=tuple(POLICY_ARGUMENTS),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        arguments = POLICY_ARGUMENTS.get(self.entity_type, ())
        self.evaluated_keys = list(arguments)
        return CheckResult.FAILED if full_access_arns(conf, arguments) else CheckResult.PASSED


check = NoAwsManagedFullAccess()
