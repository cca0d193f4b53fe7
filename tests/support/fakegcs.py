"""An in-process fake of google-cloud-storage's blob API that honours generation preconditions.

Only what the writer lease uses (``transforms/io/lease.py``): ``client.bucket(name)``,
``bucket.get_blob(name)``, ``bucket.blob(name)``, ``blob.generation``,
``blob.download_as_bytes(if_generation_match=...)`` and
``blob.upload_from_string(data, content_type=..., if_generation_match=...)``. As in
Cloud Storage, every write of an object gets a new, ever larger generation,
``if_generation_match=0`` means "only if the object does not exist", and a failed
precondition raises ``google.api_core.exceptions.PreconditionFailed`` (HTTP 412).
The check and the write happen under one lock, as the service does them atomically.

``lose_next_reply``: the next upload lands but its reply is lost; the client library
retries an upload that carries a generation precondition, and the retry meets the
write that landed: ``PreconditionFailed``, for a write that did happen.

Example::

    client = FakeStorageClient()
    blob = client.bucket("b").blob("o")
    blob.upload_from_string(b"x", if_generation_match=0)
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from google.api_core.exceptions import NotFound, PreconditionFailed

__all__ = ["FakeBlob", "FakeBucket", "FakeStorageClient"]


class FakeStorageClient:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[int, bytes]] = {}
        self.lock = threading.Lock()
        self._generations = itertools.count(1_700_000_000_000_001)
        self.lose_next_reply = False
        self.uploads = 0

    def next_generation(self) -> int:
        return next(self._generations)

    def bucket(self, name: str) -> FakeBucket:
        return FakeBucket(self, name)


class FakeBucket:
    def __init__(self, client: FakeStorageClient, name: str) -> None:
        self.client = client
        self.name = name

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self, name)

    def get_blob(self, name: str) -> FakeBlob | None:
        with self.client.lock:
            found = self.client.objects.get((self.name, name))
        if found is None:
            return None
        blob = FakeBlob(self, name)
        blob.generation = found[0]
        return blob


class FakeBlob:
    def __init__(self, bucket: FakeBucket, name: str) -> None:
        self.bucket = bucket
        self.name = name
        self.generation: int | None = None

    def _check(self, current: tuple[int, bytes] | None, if_generation_match: Any) -> None:
        if if_generation_match is None:
            return
        generation = current[0] if current is not None else 0
        if generation != int(if_generation_match):
            raise PreconditionFailed(
                f"At least one of the pre-conditions you specified did not hold "
                f"(gs://{self.bucket.name}/{self.name})"
            )

    def download_as_bytes(self, *, if_generation_match: Any = None, **_: Any) -> bytes:
        client = self.bucket.client
        with client.lock:
            current = client.objects.get((self.bucket.name, self.name))
            if current is None:
                raise NotFound(f"No such object: {self.bucket.name}/{self.name}")
            self._check(current, if_generation_match)
            self.generation = current[0]
            return current[1]

    def upload_from_string(
        self,
        data: bytes | str,
        content_type: str | None = None,
        *,
        if_generation_match: Any = None,
        **_: Any,
    ) -> None:
        client = self.bucket.client
        payload = data.encode() if isinstance(data, str) else bytes(data)
        with client.lock:
            client.uploads += 1
            key = (self.bucket.name, self.name)
            self._check(client.objects.get(key), if_generation_match)
            generation = client.next_generation()
            client.objects[key] = (generation, payload)
            self.generation = generation
            if client.lose_next_reply:
                client.lose_next_reply = False
                raise PreconditionFailed("the retry of an upload whose first reply was lost")
