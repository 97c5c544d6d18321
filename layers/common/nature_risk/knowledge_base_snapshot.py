"""A prebuilt knowledge base, so that a cold start skips parsing the release.

The layer build loads and validates the release once, reads the GICS workbook
too, and writes the result to a snapshot file. A snapshot is one JSON header
line followed by a pickle of the ``KnowledgeBase``.

The header records everything the loaded release depends on. These are the
snapshot format, the Python version and a hash of the package's source. They
are also the release folder's name, the configured release name, the file
names in the folders the loader searches and the SHA-256 of every file it
read. ``read_snapshot`` checks all of them against the folder, and the
pickle against the header's SHA-256 of it, before it unpickles anything. It
raises ``SnapshotMismatch`` when one differs, and also when the unpickled
release lists other files than the header.
``get_knowledge_base`` then loads the release from its files, so a changed
release is still validated at start-up.

The unpickler accepts only the classes a knowledge base is made of, so a
snapshot cannot call other code when it is loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import sys
from pathlib import Path

from nature_risk.crosswalks import Crosswalks
from nature_risk.encore_files import CROSSWALK_DIR, ENCORE_FILES_DIR, SourceFile
from nature_risk.isic import IsicCode, IsicIndex
from nature_risk.knowledge_base import KnowledgeBase, Release, load_knowledge_base
from nature_risk.knowledge_base_types import (
    Activity,
    EcosystemService,
    ExplanatoryNote,
    Pressure,
    SubService,
)

SNAPSHOT_FORMAT = 1
# A snapshot of either real release is about 0.2 MB, so a larger file is no
# snapshot.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
_SEARCHED_FOLDERS = (ENCORE_FILES_DIR, CROSSWALK_DIR)
_PACKAGE_DIR = Path(__file__).resolve().parent

# Every global a knowledge-base pickle may name, as (module, name).
_ALLOWED_GLOBALS = frozenset(
    (cls.__module__, cls.__qualname__)
    for cls in (
        Activity,
        Crosswalks,
        EcosystemService,
        ExplanatoryNote,
        IsicCode,
        IsicIndex,
        KnowledgeBase,
        Pressure,
        Release,
        SourceFile,
        SubService,
    )
) | {
    ("builtins", "frozenset"),
    ("builtins", "set"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class SnapshotMismatch(Exception):  # noqa: N818 - a condition, not a failure
    """The snapshot does not belong to this release folder or this code.

    ``reason`` is a fixed phrase naming the first difference found, and
    ``code`` a short identifier of it for logs (``files``, ``listing``).
    """

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class _KnowledgeBaseUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise SnapshotMismatch(
                "the snapshot names a class outside the knowledge base",
                "class_rejected",
            )
        return super().find_class(module, name)


def code_fingerprint() -> str:
    """Hash the package's top-level source files, which build the knowledge base."""
    digest = hashlib.sha256()
    # os and open rather than pathlib, whose path objects took almost as long
    # as reading and hashing the files, in a step that every cold start runs.
    names = sorted(
        name
        for name in os.listdir(_PACKAGE_DIR)
        if name.endswith(".py") and not name.startswith(".")
    )
    for name in names:
        digest.update(name.encode())
        with open(os.path.join(_PACKAGE_DIR, name), "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()


def _listing(kb_dir: Path) -> dict[str, list[str]]:
    """List the file names in each folder the loader searches."""
    listing = {}
    for folder in _SEARCHED_FOLDERS:
        directory = kb_dir / folder
        if directory.is_dir():
            listing[folder] = sorted(path.name for path in directory.iterdir())
    return listing


def _header(kb_dir: Path, release_name: str | None, files: dict[str, str]) -> dict:
    return {
        "format": SNAPSHOT_FORMAT,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "code": code_fingerprint(),
        "folder": kb_dir.name,
        "release_name": release_name,
        "listing": _listing(kb_dir),
        "files": files,
    }


def write_snapshot(
    kb_dir: Path, path: Path, release_name: str | None = None
) -> KnowledgeBase:
    """Load and validate the release in ``kb_dir`` and write its snapshot to ``path``.

    The GICS workbook, otherwise read on first use, is read now, so that the
    snapshot contains its map. Returns the loaded knowledge base.
    """
    kb_dir = Path(kb_dir)
    kb = load_knowledge_base(kb_dir, release_name)
    kb.crosswalks.gics()
    payload = pickle.dumps(kb, protocol=pickle.HIGHEST_PROTOCOL)
    header = _header(kb_dir, release_name, kb.release.files)
    header["payload"] = hashlib.sha256(payload).hexdigest()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(header, sort_keys=True).encode() + b"\n" + payload)
    return kb


def read_snapshot(
    path: Path, kb_dir: Path, release_name: str | None = None
) -> KnowledgeBase:
    """Return the knowledge base in the snapshot at ``path`` if it matches ``kb_dir``.

    Raises ``SnapshotMismatch`` when the file is missing or unreadable, when
    it was built from other files, by other code or with another release name.
    """
    kb_dir = Path(kb_dir)
    data = _read_regular_file(Path(path), MAX_SNAPSHOT_BYTES)
    if data is None:
        raise SnapshotMismatch("the snapshot file cannot be read", "unreadable")
    first_line, separator, payload = data.partition(b"\n")
    try:
        recorded = json.loads(first_line) if separator else None
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        raise SnapshotMismatch("the snapshot has no valid header", "header")
    if recorded.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotMismatch("the snapshot format differs", "format")
    current = _header(kb_dir, release_name, _hashes(kb_dir, recorded["files"]))
    for key in ("python", "code", "folder", "release_name", "listing", "files"):
        if recorded.get(key) != current[key]:
            raise SnapshotMismatch(f"the snapshot's {key} entry differs", key)
    # The hash ties the pickle to the header that was checked above.
    if recorded.get("payload") != hashlib.sha256(payload).hexdigest():
        raise SnapshotMismatch("the snapshot's payload differs", "payload")
    try:
        kb = _KnowledgeBaseUnpickler(io.BytesIO(payload)).load()
    except SnapshotMismatch:
        raise
    except Exception:  # noqa: BLE001 - any unpickling failure means "do not use"
        raise SnapshotMismatch(
            "the snapshot's knowledge base cannot be read", "payload"
        ) from None
    if not isinstance(kb, KnowledgeBase):
        raise SnapshotMismatch(
            "the snapshot does not contain a knowledge base", "payload"
        )
    # The release the pickle holds must be the one whose files were hashed,
    # so a header that lists fewer files cannot vouch for a stale release.
    if kb.release.files != recorded["files"]:
        raise SnapshotMismatch(
            "the snapshot's release lists other files than its header", "files"
        )
    return kb


def _read_regular_file(path: Path, max_bytes: int) -> bytes | None:
    """Return the bytes of a regular file of at most ``max_bytes``, else None.

    Devices, pipes and folders are rejected before they are opened.
    """
    try:
        if not path.is_file() or path.stat().st_size > max_bytes:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _hashes(kb_dir: Path, files: dict[str, object]) -> dict[str, str | None]:
    """Hash the current copy of each recorded file, giving None for a missing one.

    Only paths inside ``kb_dir`` are read, so a crafted header cannot make
    the reader open other files.
    """
    hashes: dict[str, str | None] = {}
    for relative in map(str, files):
        hashes[relative] = None
        path = Path(relative)
        if not path.parts or path.is_absolute() or ".." in path.parts:
            continue
        data = _read_regular_file(kb_dir / path, MAX_SNAPSHOT_BYTES)
        if data is not None:
            hashes[relative] = hashlib.sha256(data).hexdigest()
    return hashes


def main(argv: list[str] | None = None) -> int:
    """Write a snapshot: ``python -m nature_risk.knowledge_base_snapshot DIR FILE``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("kb_dir", type=Path, help="the ENCORE release folder")
    parser.add_argument("snapshot", type=Path, help="the snapshot file to write")
    parser.add_argument("--release-name", help="as ENCORE_RELEASE_NAME would set it")
    args = parser.parse_args(argv)
    kb = write_snapshot(args.kb_dir, args.snapshot, args.release_name)
    sys.stdout.write(
        f"wrote {args.snapshot} for {kb.release.name}: {len(kb.activities)} "
        f"activities, {len(kb.release.files)} files\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
