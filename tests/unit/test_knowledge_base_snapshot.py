"""Knowledge-base snapshots: the same release as a full load, or not used at all."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nature_risk import knowledge_base_snapshot
from nature_risk.knowledge_base import (
    KnowledgeBase,
    get_knowledge_base,
    load_knowledge_base,
)
from nature_risk.knowledge_base_snapshot import (
    SnapshotMismatch,
    main,
    read_snapshot,
    write_snapshot,
)

DEPENDENCY_FILE = "ENCORE files/06. Dependency mat ratings.csv"


def assert_same_release(left: KnowledgeBase, right: KnowledgeBase) -> None:
    assert left.release == right.release
    assert left.activities == right.activities
    assert left.ecosystem_services == right.ecosystem_services
    assert left.pressures == right.pressures
    assert left.explanatory_notes == right.explanatory_notes
    np.testing.assert_array_equal(left.dependency_ratings, right.dependency_ratings)
    np.testing.assert_array_equal(left.pressure_ratings, right.pressure_ratings)
    assert left.dependency_ratings.dtype == right.dependency_ratings.dtype
    assert not left.dependency_ratings.flags.writeable
    assert not left.pressure_ratings.flags.writeable
    assert left.activity_index == right.activity_index
    assert left.unique_code_index == right.unique_code_index
    assert vars(left.isic_index) == vars(right.isic_index)
    for name in ("nace", "nace_groups", "exiobase", "isic_classes", "files"):
        assert getattr(left.crosswalks, name) == getattr(right.crosswalks, name)
    assert left.crosswalks.gics() == right.crosswalks.gics()


@pytest.fixture
def release_copy(tmp_path: Path, encore_dir: Path) -> Path:
    """A writable copy of the top-level release, named as the layer names it."""
    target = tmp_path / "encore"
    for folder in ("ENCORE files", "Crosswalk tables"):
        shutil.copytree(encore_dir / folder, target / folder)
    return target


@pytest.fixture
def snapshot(tmp_path: Path, release_copy: Path) -> Path:
    path = tmp_path / "encore.snapshot"
    write_snapshot(release_copy, path)
    return path


@pytest.mark.parametrize("release", ["encore_dir", "encore_sept_2025_dir"])
def test_snapshot_matches_full_load(request, tmp_path, release):
    folder = request.getfixturevalue(release)
    path = tmp_path / "release.snapshot"
    written = write_snapshot(folder, path)
    loaded = read_snapshot(path, folder)
    assert_same_release(loaded, load_knowledge_base(folder))
    assert_same_release(loaded, written)


def test_snapshot_includes_gics_map(snapshot, release_copy):
    loaded = read_snapshot(snapshot, release_copy)
    assert loaded.crosswalks._gics is not None
    assert [
        loaded.activities[i].activity_id for i in loaded.crosswalks.gics()["10101010"]
    ] == ["B_9_91"]


def test_snapshot_keeps_release_name(tmp_path, release_copy):
    path = tmp_path / "named.snapshot"
    write_snapshot(release_copy, path, "May 2026")
    loaded = read_snapshot(path, release_copy, "May 2026")
    assert loaded.release.name == "May 2026"
    assert loaded.release.name_source == "configured"


def test_snapshot_rejects_changed_file(snapshot, release_copy):
    rating_file = release_copy / DEPENDENCY_FILE
    rating_file.write_bytes(rating_file.read_bytes() + b"\r\n")
    with pytest.raises(SnapshotMismatch, match="files entry differs"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_removed_file(snapshot, release_copy):
    (release_copy / DEPENDENCY_FILE).unlink()
    with pytest.raises(SnapshotMismatch, match="differs"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_added_file(snapshot, release_copy):
    # A new notes file would be read by a full load, so the snapshot is stale.
    (release_copy / "ENCORE files" / "99. Explanatory notes.csv").write_text("x")
    with pytest.raises(SnapshotMismatch, match="listing entry differs"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_renamed_folder(snapshot, release_copy):
    # The folder name can name the release, so a renamed copy is another release.
    renamed = release_copy.rename(release_copy.with_name("ENCORE May 2026"))
    with pytest.raises(SnapshotMismatch, match="folder entry differs"):
        read_snapshot(snapshot, renamed)


def test_snapshot_rejects_other_release_name(snapshot, release_copy):
    with pytest.raises(SnapshotMismatch, match="release_name entry differs"):
        read_snapshot(snapshot, release_copy, "May 2026")


def test_snapshot_rejects_other_code(snapshot, release_copy, monkeypatch):
    monkeypatch.setattr(knowledge_base_snapshot, "code_fingerprint", lambda: "0" * 64)
    with pytest.raises(SnapshotMismatch, match="code entry differs"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_other_python(snapshot, release_copy):
    header, _, payload = snapshot.read_bytes().partition(b"\n")
    recorded = json.loads(header)
    recorded["python"] = "3.12"
    snapshot.write_bytes(json.dumps(recorded).encode() + b"\n" + payload)
    with pytest.raises(SnapshotMismatch, match="python entry differs"):
        read_snapshot(snapshot, release_copy)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no valid header"),
        (b"not json\n", "no valid header"),
        (b'{"format": 1}\n', "no valid header"),
        (b'{"format": 99, "files": {}}\n', "format differs"),
    ],
)
def test_snapshot_rejects_broken_header(tmp_path, release_copy, content, reason):
    path = tmp_path / "broken.snapshot"
    path.write_bytes(content)
    with pytest.raises(SnapshotMismatch, match=reason):
        read_snapshot(path, release_copy)


@pytest.mark.parametrize("target", ["folder", "device", "too large"])
def test_snapshot_rejects_other_file_kinds(tmp_path, release_copy, target):
    if target == "folder":
        path = tmp_path
    elif target == "device":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "large.snapshot"
        with path.open("wb") as large:
            large.truncate(knowledge_base_snapshot.MAX_SNAPSHOT_BYTES + 1)
    with pytest.raises(SnapshotMismatch, match="cannot be read"):
        read_snapshot(path, release_copy)


@pytest.mark.parametrize(
    "outside", ["/etc/hostname", "../encore/ENCORE files/x.csv", "/dev/zero"]
)
def test_snapshot_reads_no_file_outside_release(
    snapshot, release_copy, monkeypatch, outside
):
    header, _, payload = snapshot.read_bytes().partition(b"\n")
    recorded = json.loads(header)
    recorded["files"][outside] = "0" * 64
    snapshot.write_bytes(json.dumps(recorded).encode() + b"\n" + payload)
    opened = []
    original = knowledge_base_snapshot._read_regular_file
    monkeypatch.setattr(
        knowledge_base_snapshot,
        "_read_regular_file",
        lambda path, limit: opened.append(str(path)) or original(path, limit),
    )
    with pytest.raises(SnapshotMismatch, match="files entry differs"):
        read_snapshot(snapshot, release_copy)
    assert not [path for path in opened if outside.lstrip("./") in path]


def test_snapshot_rejects_missing_file(tmp_path, release_copy):
    with pytest.raises(SnapshotMismatch, match="cannot be read"):
        read_snapshot(tmp_path / "absent.snapshot", release_copy)


def replace_payload(snapshot: Path, payload: bytes, **header_changes) -> None:
    """Write ``payload`` under the snapshot's header, with its hash updated."""
    header, _, _ = snapshot.read_bytes().partition(b"\n")
    recorded = json.loads(header)
    recorded.update(header_changes, payload=hashlib.sha256(payload).hexdigest())
    snapshot.write_bytes(json.dumps(recorded).encode() + b"\n" + payload)


def test_snapshot_rejects_truncated_payload(snapshot, release_copy):
    data = snapshot.read_bytes()
    snapshot.write_bytes(data[: len(data) - 1000])
    with pytest.raises(SnapshotMismatch, match="payload differs"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_unreadable_payload(snapshot, release_copy):
    payload = snapshot.read_bytes().partition(b"\n")[2]
    replace_payload(snapshot, payload[: len(payload) - 1000])
    with pytest.raises(SnapshotMismatch, match="cannot be read"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_changed_payload(snapshot, release_copy, encore_sept_2025_dir):
    # Another release's pickle under this release's intact header.
    other = pickle.dumps(load_knowledge_base(encore_sept_2025_dir))
    header, _, _ = snapshot.read_bytes().partition(b"\n")
    snapshot.write_bytes(header + b"\n" + other)
    with pytest.raises(SnapshotMismatch, match="payload differs"):
        read_snapshot(snapshot, release_copy)


def test_snapshot_rejects_header_listing_fewer_files(snapshot, release_copy):
    # A header that lists no files would otherwise vouch for any release.
    payload = snapshot.read_bytes().partition(b"\n")[2]
    replace_payload(snapshot, payload, files={})
    rating_file = release_copy / DEPENDENCY_FILE
    rating_file.write_bytes(rating_file.read_bytes() + b"\r\n")
    with pytest.raises(SnapshotMismatch, match="lists other files"):
        read_snapshot(snapshot, release_copy)


class _RunsCode:
    """Unpickles into a call of ``exec``."""

    def __reduce__(self):
        return (exec, ("import sys; sys.snapshot_ran_code = True",))


def test_snapshot_rejects_unlisted_class(snapshot, release_copy):
    replace_payload(snapshot, pickle.dumps(_RunsCode()))
    with pytest.raises(SnapshotMismatch, match="names a class outside"):
        read_snapshot(snapshot, release_copy)
    assert not hasattr(sys, "snapshot_ran_code")


def test_snapshot_rejects_other_payload(snapshot, release_copy):
    replace_payload(snapshot, pickle.dumps({"activities": []}))
    with pytest.raises(SnapshotMismatch, match="does not contain a knowledge base"):
        read_snapshot(snapshot, release_copy)


@pytest.fixture
def fresh_cache():
    get_knowledge_base.cache_clear()
    yield
    get_knowledge_base.cache_clear()


def test_get_knowledge_base_uses_snapshot(
    monkeypatch, snapshot, release_copy, fresh_cache
):
    monkeypatch.setenv("ENCORE_KB_DIR", str(release_copy))
    monkeypatch.setenv("ENCORE_KB_SNAPSHOT", str(snapshot))
    monkeypatch.delenv("ENCORE_RELEASE_NAME", raising=False)
    loaded = get_knowledge_base()
    # Only a snapshot arrives with the GICS map already read.
    assert loaded.crosswalks._gics is not None
    assert_same_release(loaded, load_knowledge_base(release_copy))


def test_get_knowledge_base_skips_stale_snapshot(
    monkeypatch, snapshot, release_copy, fresh_cache, caplog
):
    rating_file = release_copy / DEPENDENCY_FILE
    rating_file.write_bytes(rating_file.read_bytes() + b"\r\n")
    monkeypatch.setenv("ENCORE_KB_DIR", str(release_copy))
    monkeypatch.setenv("ENCORE_KB_SNAPSHOT", str(snapshot))
    monkeypatch.delenv("ENCORE_RELEASE_NAME", raising=False)
    with caplog.at_level(logging.WARNING, logger="nature_risk.knowledge_base"):
        loaded = get_knowledge_base()
    assert loaded.crosswalks._gics is None
    assert (
        loaded.release.files[DEPENDENCY_FILE]
        != json.loads(snapshot.read_bytes().partition(b"\n")[0])["files"][
            DEPENDENCY_FILE
        ]
    )
    assert [(record.getMessage(), record.error_code) for record in caplog.records] == [
        ("Knowledge base snapshot not used, so the release folder is read", "files")
    ]


def test_snapshot_command_writes_file(tmp_path, release_copy, capsys):
    path = tmp_path / "cli" / "encore.snapshot"
    assert main([str(release_copy), str(path)]) == 0
    assert "271 activities" in capsys.readouterr().out
    assert read_snapshot(path, release_copy).release.files


@pytest.mark.parametrize("module", ["openpyxl", "nature_risk.encore_ratings"])
def test_snapshot_read_skips_parsers(snapshot, release_copy, module):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from nature_risk.knowledge_base_snapshot import read_snapshot\n"
        f"kb = read_snapshot(Path({str(snapshot)!r}), Path({str(release_copy)!r}))\n"
        "assert kb.crosswalks.gics()\n"
        f"print({module!r} in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(knowledge_base_snapshot.__file__).parents[1],
    )
    assert result.stdout.strip() == "False"
