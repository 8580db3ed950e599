"""Object2Vec training channels from MovieLens: jsonlines files plus a manifest per task.

Output layout (other code depends on it exactly)::

    <out>/<dataset>/<protocol>/<task>/<channel>/<channel>.jsonl   channel: train, validation, test
    <out>/<dataset>/<protocol>/<task>/manifest.json

Read a folder with `read_manifest(path)`; write them with `prepare_channels(PrepareConfig(...))`.
"""

from jobs.channels.jsonl import WrittenFile, write_jsonl
from jobs.channels.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    ChannelFile,
    ChannelManifest,
    LabelSpec,
    ManifestError,
    SourceRecord,
    Vocab,
    read_manifest,
    write_manifest,
)
from jobs.channels.prepare import (
    PrepareConfig,
    PrepareResult,
    default_out_dir,
    prepare_channels,
    task_folder,
    write_channels,
)
from jobs.channels.protocols import (
    CHANNELS,
    PROTOCOLS,
    Protocol,
    ProtocolError,
    Split,
    SplitParams,
    build_split,
)
from jobs.channels.tasks import TASKS, Labels, Task, label_spec, make_labels

__all__ = [
    "CHANNELS",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "PROTOCOLS",
    "TASKS",
    "ChannelFile",
    "ChannelManifest",
    "LabelSpec",
    "Labels",
    "ManifestError",
    "PrepareConfig",
    "PrepareResult",
    "Protocol",
    "ProtocolError",
    "SourceRecord",
    "Split",
    "SplitParams",
    "Task",
    "Vocab",
    "WrittenFile",
    "build_split",
    "default_out_dir",
    "label_spec",
    "make_labels",
    "prepare_channels",
    "read_manifest",
    "task_folder",
    "write_channels",
    "write_jsonl",
    "write_manifest",
]
