"""The stack's credentials: one random access key and secret per state folder, which every service
checks (SigV4) and which `env_vars` hands to boto3, the aws CLI and the Lambda workers.

Stored private (0600, in a 0700 folder) as `<state>/credentials.json`. Created once, by whoever needs
them first (`start`, `env_vars` or the server itself), with an exclusive link so two creators racing
can never end up with two different keys: the loser reads the winner's file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import string
from dataclasses import dataclass

from localcloud.config import CloudConfig
from localcloud.errors import LocalCloudError
from localcloud.storage import atomic_writer, fsync_dir, read_json

# AWS's shapes: a 20-character upper-case key id, a 40-character secret. "LC" marks a local key.
_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def generate() -> Credentials:
    key = "LCAK" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return Credentials(key, secret)


def ensure_credentials(config: CloudConfig) -> Credentials:
    """The state folder's credentials, created (private) if it has none yet."""
    existing = load_credentials(config)
    if existing is not None:
        return existing
    state = config.state_dir
    state.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(state, 0o700)
    fresh = generate()
    path = config.credentials_file
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
    with atomic_writer(staging, mode=0o600) as f:
        keys = {"access_key_id": fresh.access_key_id, "secret_access_key": fresh.secret_access_key}
        f.write(json.dumps(keys).encode())
    try:
        os.link(staging, path)  # fails if another process created the file first: theirs wins
    except FileExistsError:
        pass
    finally:
        staging.unlink(missing_ok=True)
    fsync_dir(state)
    loaded = load_credentials(config)
    if loaded is None:
        raise LocalCloudError(f"cannot create the local cloud's credentials in {path}")
    return loaded


def load_credentials(config: CloudConfig) -> Credentials | None:
    path = config.credentials_file
    try:
        raw = read_json(path)
        return Credentials(str(raw["access_key_id"]), str(raw["secret_access_key"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalCloudError(f"{path} is unreadable ({exc}); delete it to make new credentials") from exc
