"""Errors of the local cloud's process management (one line each; the CLI prints them as is).

Errors that travel over the wire to an AWS client are `localcloud.awswire.AwsError` instead.
"""


class LocalCloudError(Exception):
    """The local cloud could not be started, stopped or configured."""
