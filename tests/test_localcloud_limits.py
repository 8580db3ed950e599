"""Limits that keep the local cloud's memory bounded (issue 9, finding 12), as unit tests of the backends."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from localcloud import CloudConfig
from localcloud.awslambda import functions
from localcloud.awswire import AwsError


def test_event_invocations_queue_up_to_a_limit_then_get_429(tmp_path: Path):
    with mock.patch.object(functions, "MAX_QUEUED_EVENTS", 2):
        backend = functions.LambdaBackend(CloudConfig.from_env({}, state_dir=tmp_path))
    backend._functions["queued"] = {"FunctionName": "queued"}
    submitted = []
    with mock.patch.object(backend._events, "submit", lambda *args: submitted.append(args)):
        for _ in range(2):  # accepted and waiting for a worker (never run here)
            assert backend.invoke("queued", None, b"{}", "Event", None, None).status == 202
        with pytest.raises(AwsError) as refused:
            backend.invoke("queued", None, b"{}", "Event", None, None)
    assert (refused.value.code, refused.value.status) == ("TooManyRequestsException", 429)
    assert refused.value.fields["Reason"] == "CallerRateLimitExceeded"
    assert len(submitted) == 2
    backend.shutdown()
