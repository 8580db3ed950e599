"""Who may talk to the local cloud, checked before any route sees a request (AWS's own order).

1. **Origin and Host.** A request carrying an `Origin` header comes from a web page (browsers add it to
   every cross-origin request and to every POST); one whose `Host` is not the service's own address was
   sent to another name that resolved here (DNS rebinding). Both are refused first, so a page the user
   opens can neither run code through CreateFunction/Invoke nor read anything back.
2. **SigV4.** Every request (S3 included; header or query-string "presigned" form) must be signed with
   the stack's access key (`localcloud.credentials`): the signature is recomputed from the request as it
   arrived and compared in constant time; a timestamp more than 15 minutes off is refused, as AWS does.

Each refusal is the error that AWS's own service answers, in its own shape (S3's XML codes
AccessDenied / InvalidAccessKeyId / SignatureDoesNotMatch / RequestTimeTooSkewed; the JSON services'
MissingAuthenticationTokenException / UnrecognizedClientException / InvalidSignatureException /
IncompleteSignatureException). The health route answers without a signature (it reveals only the pid
and the state folder) but still only to our own Host and never to a web page.

Not checked: what a signed caller may do (IAM policies are not emulated; the one key may do everything),
and the per-chunk signatures of S3's `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` uploads (the seed signature
over the headers is checked).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from calendar import timegm
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from botocore.utils import normalize_url_path

from localcloud.awswire import HEALTH_PATH, AwsError
from localcloud.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGNED_EXPIRY = 7 * 24 * 3600
_AUTH_FIELDS = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]*)")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Refusal:
    """The error each kind of refusal gets on one service: S3's XML codes or the JSON services' ones."""

    def __init__(self, s3: bool) -> None:
        self.s3 = s3

    def foreign(self, what: str) -> AwsError:
        code = "AccessDenied" if self.s3 else "AccessDeniedException"
        return AwsError(code, f"{what} is not accepted by the local cloud", 403)

    def missing(self) -> AwsError:
        if self.s3:
            return AwsError("AccessDenied", "Access Denied", 403)
        return AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)

    def malformed(self, detail: str) -> AwsError:
        if self.s3:
            return AwsError(
                "AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}"
            )
        return AwsError("IncompleteSignatureException", detail, 400)

    def unknown_key(self, key: str) -> AwsError:
        if self.s3:
            return AwsError(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                403,
                fields={"AWSAccessKeyId": key[:32]},
            )
        return AwsError(
            "UnrecognizedClientException", "The security token included in the request is invalid.", 403
        )

    def bad_signature(self) -> AwsError:
        if self.s3:
            return AwsError(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                403,
            )
        return AwsError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.",
            403,
        )

    def skewed(self, stamp: str) -> AwsError:
        if self.s3:
            return AwsError(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                403,
                fields={"RequestTime": stamp, "MaxAllowedSkewMilliseconds": MAX_SKEW_SECONDS * 1000},
            )
        return AwsError("InvalidSignatureException", f"Signature expired: {stamp} is now out of range.", 403)

    def expired(self) -> AwsError:
        return AwsError(
            "AccessDenied" if self.s3 else "InvalidSignatureException", "Request has expired", 403
        )

    def content_mismatch(self) -> AwsError:
        return AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
        )


class StackGate:
    """The `Gate` of one service: Origin/Host first, then the stack's SigV4 signature."""

    def __init__(self, service: str, port: int, credentials: Credentials) -> None:
        self.s3 = service == "s3"
        self.refuse = Refusal(self.s3)
        self.credentials = credentials
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.host_suffix = f".localhost:{port}"  # S3's virtual-hosted style: <bucket>.localhost

    def admit(self, method: str, target: str, headers: Any) -> AwsError | None:
        if headers.get("Origin") is not None:
            return self.refuse.foreign("A request from a web page (Origin header)")
        hosts = headers.get_all("Host") or []
        if len(hosts) != 1 or not self._our_host(hosts[0].strip().lower()):
            return self.refuse.foreign(f"Host {(hosts or [''])[0][:64]!r}")
        if urlsplit(target).path == HEALTH_PATH:
            return None
        parsed = self._parse(target, headers)
        return parsed if isinstance(parsed, AwsError) else None

    def verify(self, method: str, target: str, headers: Any, body: bytes) -> AwsError | None:
        parsed = self._parse(target, headers)
        if isinstance(parsed, AwsError):
            return parsed
        scope, signed, signature, stamp, presigned = parsed
        payload = self._payload(headers, body, presigned)
        if isinstance(payload, AwsError):
            return payload
        canonical = "\n".join(
            (
                method,
                self._canonical_uri(target),
                _canonical_query(target),
                "".join(f"{name}:{_header(headers, name)}\n" for name in signed),
                ";".join(signed),
                payload,
            )
        )
        to_sign = "\n".join(
            (ALGORITHM, stamp, "/".join(scope[1:]), hashlib.sha256(canonical.encode()).hexdigest())
        )
        key = _signing_key(self.credentials.secret_access_key, *scope[1:4])
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return self.refuse.bad_signature()
        return None

    # -- internals ----------------------------------------------------------------------------------

    def _our_host(self, host: str) -> bool:
        return host in self.hosts or (self.s3 and host.endswith(self.host_suffix))

    def _parse(self, target: str, headers: Any) -> Any:
        """(scope parts, signed header names, signature, timestamp, presigned) or the refusal."""
        authorization = headers.get("Authorization")
        query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        presigned = authorization is None and "X-Amz-Signature" in query
        if presigned:
            algorithm, credential = query.get("X-Amz-Algorithm"), query.get("X-Amz-Credential", "")
            signed_names, signature = query.get("X-Amz-SignedHeaders", ""), query["X-Amz-Signature"]
            stamp = query.get("X-Amz-Date", "")
        elif authorization is not None:
            algorithm, _, rest = authorization.strip().partition(" ")
            fields = dict(_AUTH_FIELDS.findall(rest))
            credential, signed_names = fields.get("Credential", ""), fields.get("SignedHeaders", "")
            signature = fields.get("Signature", "")
            stamp = headers.get("X-Amz-Date") or ""
        else:
            return self.refuse.missing()
        if algorithm != ALGORITHM:
            return (
                self.refuse.missing() if self.s3 else self.refuse.malformed("Unsupported signing algorithm.")
            )
        scope = credential.split("/")
        if len(scope) != 5 or scope[4] != "aws4_request" or not signature or not signed_names:
            return self.refuse.malformed("Authorization requires Credential, SignedHeaders and Signature.")
        if not hmac.compare_digest(scope[0].encode(), self.credentials.access_key_id.encode()):
            return self.refuse.unknown_key(scope[0])
        if not _AMZ_DATE.fullmatch(stamp) or stamp[:8] != scope[1]:
            return self.refuse.malformed(
                "X-Amz-Date must be an ISO 8601 basic timestamp of the scope's date."
            )
        signed = signed_names.split(";")
        if "host" not in signed or signed != sorted(set(signed)):
            return self.refuse.malformed("SignedHeaders must be sorted, unique and include host.")
        age = time.time() - timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        if presigned:
            expires = query.get("X-Amz-Expires", "")
            if not expires.isdigit() or int(expires) > MAX_PRESIGNED_EXPIRY:
                return self.refuse.malformed("X-Amz-Expires must be a number of seconds up to 604800.")
            if age > int(expires) or age < -MAX_SKEW_SECONDS:
                return self.refuse.expired()
        elif abs(age) > MAX_SKEW_SECONDS:
            return self.refuse.skewed(stamp)
        return scope, signed, signature, stamp, presigned

    def _payload(self, headers: Any, body: bytes, presigned: bool) -> str | AwsError:
        declared = headers.get("X-Amz-Content-SHA256")
        if self.s3:
            if presigned:
                return declared or "UNSIGNED-PAYLOAD"
            if declared is None:
                return AwsError(
                    "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
                )
            if _HEX64.fullmatch(declared) and declared != _sha256(body):
                return self.refuse.content_mismatch()
            return declared
        return declared if declared is not None else _sha256(body)

    def _canonical_uri(self, target: str) -> str:
        path = target.split("?", 1)[0] or "/"
        if self.s3:
            return path  # S3 signs the path as sent, neither normalized nor encoded again
        return quote(normalize_url_path(path), safe="/~")


def _sha256(body: bytes) -> str:
    return EMPTY_SHA256 if not body else hashlib.sha256(body).hexdigest()


def _header(headers: Any, name: str) -> str:
    return ",".join(" ".join(value.split()) for value in headers.get_all(name) or [])


def _canonical_query(target: str) -> str:
    """The query as sent, pairs sorted, the signature itself left out (botocore's rule)."""
    query = target.partition("?")[2]
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key != "X-Amz-Signature":
            pairs.append((key, value))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


@functools.lru_cache(maxsize=64)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
