"""Stream bytes through gzip into one S3 multipart upload, hashing as it goes.

``CompressedUpload.stream`` is a binary file-like object that accepts any
amount of data. A worker thread compresses it and uploads a part whenever
``part_size`` compressed bytes have filled. Memory stays bounded by the part
size plus a few queued chunks, whatever the size of the stream.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
import zlib
from collections.abc import Buffer, Callable
from dataclasses import dataclass
from typing import Any

# S3 rejects parts below 5 MiB, except the last part of an upload.
MIN_PART_SIZE = 5 * 1024 * 1024
# Raw bytes gathered before one hand-over to the worker thread. Large enough
# that zlib releases the GIL for most of its work, small enough to keep memory low.
CHUNK_SIZE = 1024 * 1024
# Raw chunks the writer may queue ahead of the worker before ``write`` blocks.
QUEUE_CHUNKS = 4
# zlib's window bits for a gzip wrapper (16 + 15), so objects open with gunzip.
GZIP_WBITS = 31

_END = object()


class _ChunkSink(io.RawIOBase):
    """The raw end of ``CompressedUpload.stream``: passes each chunk on."""

    def __init__(self, put_chunk: Callable[[bytes], None]) -> None:
        super().__init__()
        self._put_chunk = put_chunk
        self.discard = False

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:  # type: ignore[override]
        size = memoryview(data).nbytes
        if not self.discard:
            self._put_chunk(bytes(data))
        return size


@dataclass(frozen=True, slots=True)
class UploadedObject:
    """One finished object: its key, stored size and SHA-256, and its raw size."""

    key: str
    size: int
    sha256: str
    raw_size: int


class CompressedUpload:
    """One SSE-KMS S3 object, written through ``stream`` or ``write``.

    Call ``close()`` to finish the upload, or ``abort()`` after a failure. Once
    the worker fails, the next write that reaches it, or ``close``, raises the
    worker's exception.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        kms_key_id: str,
        part_size: int = 8 * 1024 * 1024,
        compression_level: int = 1,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")

        self._s3 = s3
        self.bucket = bucket
        self.key = key
        self._part_size = part_size
        self._compressor = zlib.compressobj(
            compression_level, zlib.DEFLATED, GZIP_WBITS
        )
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._raw_size = 0
        self._part = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._error: BaseException | None = None
        self._closed = False
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)

        response = s3.create_multipart_upload(
            Bucket=bucket,
            Key=key,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key_id,
            BucketKeyEnabled=True,
            ContentType="application/gzip",
        )
        self.upload_id: str = response["UploadId"]

        self._worker = threading.Thread(
            target=self._run_worker, name=f"upload-{key}", daemon=True
        )
        self._worker.start()
        # The database driver calls ``write`` once per COPY row. A C-level
        # buffer in front of the queue keeps that call out of Python code, and
        # hands the worker whole chunks of CHUNK_SIZE bytes.
        self._sink = _ChunkSink(self._put_chunk)
        self.stream = io.BufferedWriter(self._sink, CHUNK_SIZE)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append data to the object; a plain method for callers other than COPY."""
        return self.stream.write(data)

    def close(self) -> UploadedObject:
        """Finish the upload and return the object's size and SHA-256."""
        if self._closed:
            raise ValueError("the upload is already closed")
        self.stream.close()
        self._put(_END)
        self._worker.join()
        self._closed = True
        self._raise_worker_error()
        self._s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        return UploadedObject(
            key=self.key,
            size=self._size,
            sha256=self._sha256.hexdigest(),
            raw_size=self._raw_size,
        )

    def abort(self) -> None:
        """Stop the worker and abort the multipart upload, so no part is kept."""
        self._sink.discard = True
        self.stream.close()
        if not self._closed:
            self._closed = True
            self._error = self._error or RuntimeError("upload aborted")
            self._drain_queue()
            self._put(_END)
            self._worker.join()
        self._s3.abort_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
        )

    # Hand-over between the writer and the worker thread.

    def _put_chunk(self, chunk: bytes) -> None:
        self._raise_worker_error()
        self._put(chunk)

    def _put(self, item: object) -> None:
        # A bounded put that gives up when the worker has died, so a failed
        # upload never leaves the writer blocked on a full queue.
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if not self._worker.is_alive():
                    self._raise_worker_error()
                    return

    def _drain_queue(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run_worker(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    break
                if self._error is not None:
                    continue
                assert isinstance(item, bytes)
                self._raw_size += len(item)
                self._add_compressed(self._compressor.compress(item))
            if self._error is None:
                self._add_compressed(self._compressor.flush())
                if self._part or not self._parts:
                    self._upload_part()
        except BaseException as error:  # noqa: BLE001 - re-raised in the writer
            self._error = error

    def _add_compressed(self, data: bytes) -> None:
        if not data:
            return
        self._sha256.update(data)
        self._size += len(data)
        self._part += data
        while len(self._part) >= self._part_size:
            self._upload_part()

    def _upload_part(self) -> None:
        body = bytes(self._part[: self._part_size])
        del self._part[: self._part_size]
        number = len(self._parts) + 1
        response = self._s3.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
