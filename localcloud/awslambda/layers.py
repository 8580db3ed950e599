"""Lambda layers: a published zip whose `python/` folder is added to a function's sys.path, as Lambda
does with `/opt/python` and `/opt/python/lib/<runtime>/site-packages`."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localcloud.awslambda.code import Package, extract, fetch_package
from localcloud.awslambda.errors import invalid, pattern_error, user_error
from localcloud.awswire import AwsError, public
from localcloud.config import ACCOUNT_ID, CloudConfig
from localcloud.storage import atomic_write_json, read_json

MAX_LAYERS = 5
_LAYER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,140}")


def timestamp() -> str:
    """Lambda's date format, e.g. 2018-11-27T15:10:45.123+0000."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def layer_not_found() -> AwsError:
    return user_error(
        "ResourceNotFoundException", "The resource you requested does not exist.", 404, capital=True
    )


class LayerStore:
    """`<root>/<name>/<version>/layer.json` plus the extracted content; versions count from 1."""

    def __init__(self, config: CloudConfig) -> None:
        self.config = config
        self.root = config.state_dir / "lambda" / "layers"
        self.lock = threading.Lock()

    def arn(self, name: str, version: int | None = None) -> str:
        base = f"arn:aws:lambda:{self.config.region}:{ACCOUNT_ID}:layer:{name}"
        return base if version is None else f"{base}:{version}"

    def publish(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        package = fetch_package(self.config, body.get("Content") or {}, "Content")
        with self.lock:
            version = 1 + max((int(p.name) for p in self._versions_dir(name).glob("[0-9]*")), default=0)
            folder = self._versions_dir(name) / str(version)
            extract(package, folder)
            record = {
                "LayerArn": self.arn(name),
                "LayerVersionArn": self.arn(name, version),
                "Description": body.get("Description", ""),
                "CreatedDate": timestamp(),
                "Version": version,
                "CompatibleRuntimes": body.get("CompatibleRuntimes", []),
                "CompatibleArchitectures": body.get("CompatibleArchitectures", []),
                "LicenseInfo": body.get("LicenseInfo"),
                "Content": self._content(package),
                "_content": package.sha256_hex,
            }
            atomic_write_json(folder / "layer.json", record)
        return public(record)

    def get(self, name: str, version: int) -> dict[str, Any]:
        record = self._record(name, version)
        if record is None or record.get("_deleted"):
            raise layer_not_found()
        return public(record)

    def delete(self, name: str, version: int) -> None:
        """Like Lambda, functions that already use the version keep it: only the record is hidden."""
        with self.lock:
            record = self._record(name, version)
            if record is not None and not record.get("_deleted"):
                record["_deleted"] = True
                atomic_write_json(self._versions_dir(name) / str(version) / "layer.json", record)

    def list_versions(self, name: str) -> list[dict[str, Any]]:
        records = [r for r in self._all(name) if not r.get("_deleted")]
        return [_list_item(r) for r in sorted(records, key=lambda r: -r["Version"])]

    def list_layers(self) -> list[dict[str, Any]]:
        layers = []
        folders = self.root.glob("*") if self.root.is_dir() else []
        for folder in sorted(p for p in folders if p.is_dir() and _LAYER_NAME.fullmatch(p.name)):
            versions = self.list_versions(folder.name)
            if versions:
                layers.append(
                    {
                        "LayerName": folder.name,
                        "LayerArn": self.arn(folder.name),
                        "LatestMatchingVersion": versions[0],
                    }
                )
        return layers

    def resolve(self, layer_arns: list[str]) -> list[dict[str, Any]]:
        """The function's `Layers` (version ARNs) as {Arn, CodeSize}; unknown ones are rejected."""
        if not all(isinstance(a, str) for a in layer_arns):
            raise invalid("Layers must be a list of layer version ARNs.")
        if len(layer_arns) > MAX_LAYERS:
            raise invalid(f"Cannot reference more than {MAX_LAYERS} layers.")
        resolved = []
        for layer_arn in layer_arns:
            name, version = self._parse(layer_arn)
            record = self._record(name, version) if name else None
            if record is None or record.get("_deleted"):
                raise invalid(f"Layer version {layer_arn} does not exist.")
            resolved.append({"Arn": layer_arn, "CodeSize": record["Content"]["CodeSize"]})
        return resolved

    def python_paths(self, layer_arns: list[str], runtime: str) -> list[str]:
        """sys.path entries for the layers; a later layer shadows an earlier one, as when Lambda
        extracts them into /opt in order."""
        paths: list[str] = []
        for layer_arn in reversed(layer_arns):
            name, version = self._parse(layer_arn)
            record = self._record(name, version) if name else None
            if record is None:
                continue
            content = self._versions_dir(name) / str(version) / record["_content"] / "python"
            paths += [str(content / "lib" / runtime / "site-packages"), str(content)]
        return paths

    # -- internals ------------------------------------------------------------------------------------

    def _content(self, package: Package) -> dict[str, Any]:
        return {"Location": "", "CodeSha256": package.code_sha256, "CodeSize": len(package.data)}

    def _parse(self, layer_arn: str) -> tuple[str, int]:
        prefix = self.arn("")
        if not layer_arn.startswith(prefix):
            return "", 0
        name, _, version = layer_arn[len(prefix) :].partition(":")
        ok = _LAYER_NAME.fullmatch(name) and version.isdigit()
        return (name, int(version)) if ok else ("", 0)

    def _versions_dir(self, name: str) -> Path:
        """Every layer name passes here before it becomes a path (publish, get, delete, list, resolve)."""
        if not _LAYER_NAME.fullmatch(name):
            raise pattern_error(name, "layerName", _LAYER_NAME.pattern)
        return self.root / name

    def _record(self, name: str, version: int) -> dict[str, Any] | None:
        path = self._versions_dir(name) / str(version) / "layer.json"
        return read_json(path) if path.is_file() else None

    def _all(self, name: str) -> list[dict[str, Any]]:
        return [read_json(p) for p in self._versions_dir(name).glob("*/layer.json")]


def _list_item(record: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "LayerVersionArn",
        "Version",
        "Description",
        "CreatedDate",
        "CompatibleRuntimes",
        "LicenseInfo",
        "CompatibleArchitectures",
    )
    return {k: record[k] for k in keys if record.get(k) is not None}
