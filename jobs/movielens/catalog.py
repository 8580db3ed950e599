"""What we know about each MovieLens release: its layout, its archive and the archive's checksum.

Where the checksums come from (none could be re-downloaded here: this machine is offline):

- Zip SHA-256s and sizes: TensorFlow Datasets' `tensorflow_datasets/url_checksums/movielens.txt`
  (github.com/tensorflow/datasets, commit 1c076ac3c19c8ea83e1d1a75e0623c9a699e0d7c), which lists
  url, size and sha256 for all five zips. Each value is also pinned, independently, in other
  public code: ml-100k in this project's `shared/reference/accuracy-anchors.md` §A; ml-1m in a
  TensorFlow Authors on-device recommendation example (`MOVIELENS_ZIP_HASH`, checked with
  `tf.keras.utils.get_file(hash_algorithm="sha256")`); ml-20m in a Julia DataDeps registration
  and in projects that also matched GroupLens' published MD5 (cd245b17…); ml-25m and
  ml-latest-small in several download scripts (one also matching GroupLens' MD5 6b51fb27… for
  ml-25m).
- Per-file SHA-256s of ml-100k: `shared/data/SHA256SUMS` beside this repository, made from the
  files `accuracy-anchors.md` §A traces back to the GroupLens archive (u.data and u.item match
  the values other projects publish for the official files).

ml-latest-small is a "latest" release that GroupLens may rebuild; its pin is the September 2018
build (610 users, 100,836 ratings) that everybody publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from jobs.movielens.errors import DataError

GROUPLENS_BASE_URL: Final = "https://files.grouplens.org/datasets/movielens"


@dataclass(frozen=True)
class RemoteArchive:
    """A release's zip on the GroupLens server, with its published size and SHA-256."""

    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DatasetInfo:
    """A MovieLens release: its name (also the folder inside the zip) and its file layout."""

    name: str
    layout: str
    archive: RemoteArchive


def _info(name: str, layout: str, sha256: str, size: int) -> DatasetInfo:
    return DatasetInfo(name, layout, RemoteArchive(f"{name}.zip", sha256, size))


DATASETS: Final[dict[str, DatasetInfo]] = {
    info.name: info
    for info in (
        _info(
            "ml-100k", "ml-100k", "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4924029
        ),
        _info("ml-1m", "ml-1m", "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5917549),
        _info(
            "ml-latest-small",
            "csv",
            "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            978202,
        ),
        _info("ml-20m", "csv", "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3", 198702078),
        _info("ml-25m", "csv", "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa", 261978986),
    )
}
DATASET_NAMES: Final = tuple(DATASETS)
DEFAULT_DATASET: Final = "ml-100k"

# Per-file SHA-256s of ml-100k (from shared/data/SHA256SUMS; see the module docstring). The
# archive also holds two scripts, allbut.pl and mku.sh, which we neither need nor check.
ML100K_FILE_SHA256: Final[dict[str, str]] = {
    "README": "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    "u.info": "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
    "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
    "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
    "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
    "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
    "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}

# Files whose published sums we check, per release (only ml-100k has per-file sums).
KNOWN_FILE_SHA256: Final[dict[str, dict[str, str]]] = {"ml-100k": ML100K_FILE_SHA256}


def dataset_info(name: str) -> DatasetInfo:
    """The catalog entry for `name`; a one-line error lists the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}") from None
