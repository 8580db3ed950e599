"""The local cloud: moto's S3 plus our SageMaker (control plane, training, runtime) and Lambda services,
served on 127.0.0.1 so that plain boto3 reaches them through `AWS_ENDPOINT_URL_<SERVICE>`.

    from localcloud import CloudConfig, start, stop, env_vars
    start(CloudConfig.from_env())          # idempotent; returns once every service is ready
    os.environ.update(env_vars())          # boto3 clients now talk to the local cloud
    stop(purge=True)                       # stop it and delete its state folder

Each service is split like moto: `routes.py` (URL table), `responses.py` (protocol: parse and
serialize, errors in one place) and plain-Python backends with the state and logic.
"""

from localcloud.clientenv import env_vars
from localcloud.config import CloudConfig, default_state_dir, log_path
from localcloud.errors import LocalCloudError
from localcloud.process import CloudStatus, ServiceHealth, start, status, stop

__all__ = [
    "CloudConfig",
    "CloudStatus",
    "LocalCloudError",
    "ServiceHealth",
    "default_state_dir",
    "env_vars",
    "log_path",
    "start",
    "status",
    "stop",
]
