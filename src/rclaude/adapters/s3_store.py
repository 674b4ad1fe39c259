"""``ObjectStore`` on Amazon S3 (see ``rclaude.ports.ObjectStore``).

- Keys are validated like the directory store's (relative, no ``..``) and live under
  ``s3.prefix`` in ``s3.bucket``.
- ``put`` is one PutObject, which S3 makes atomic. ``put_file``/``get_file`` go through
  boto3's transfer manager: multipart above ``MULTIPART_THRESHOLD``, with parts sent in
  parallel; ``get_file`` downloads to a temporary name and renames, so a reader of the
  local file never sees a partial download.
- ``put_many`` uploads several small objects concurrently (snapshot blobs).
- ``presign`` returns a URL for GET or PUT valid for at most ``MAX_PRESIGN`` seconds.

Content addressing (never uploading a blob twice) is the snapshot module's job: it asks
``exists`` (HeadObject) before ``put``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from rclaude import awsutil
from rclaude.errors import BackendError, ConfigError, NotFoundError, ValidationError, Where
from rclaude.fsutil import check_relative

MULTIPART_THRESHOLD = 8 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
MAX_CONCURRENCY = 8
#: Presigned URLs are short-lived by design: at most one hour.
MAX_PRESIGN = 3600
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3ObjectStore:
    #: Parallel transfers callers may run against this store (snapshot uploads do).
    transfer_concurrency = MAX_CONCURRENCY

    def __init__(self, config) -> None:
        s = config.s3
        if not s.bucket:
            raise ConfigError(
                "storage is 's3' but no bucket is set",
                code="RC-STORE-010",
                hint="set s3.bucket in config.yaml or RCLAUDE_S3__BUCKET",
            )
        if not _BUCKET.fullmatch(s.bucket) or ".." in s.bucket:
            raise ConfigError(
                f"invalid S3 bucket name {s.bucket!r}",
                code="RC-STORE-012",
                where=Where(key="s3.bucket"),
                hint="use 3-63 lower-case letters, digits, '.' or '-', starting and ending "
                "with a letter or digit",
            )
        self.bucket = s.bucket
        self.prefix = s.prefix or ""
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self.region = s.region or config.aws.region
        self.endpoint_url = s.endpoint_url or config.aws.endpoint_url
        self.profile = config.aws.profile
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = awsutil.client(
                        "s3",
                        region=self.region,
                        endpoint_url=self.endpoint_url,
                        profile=self.profile,
                    )
        return self._client

    def _transfer_config(self):
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNK,
            max_concurrency=MAX_CONCURRENCY,
            use_threads=True,
        )

    def _key(self, key: str) -> str:
        check_relative(key, what="object key")
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        full = self._key(key)
        with awsutil.translate_aws_errors(f"upload s3://{self.bucket}/{full}"):
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data)

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Upload several objects concurrently; raises the first failure."""
        items = list(items)
        for key, _ in items:
            self._key(key)  # validate all before sending any
        if len(items) <= 1:
            for key, data in items:
                self.put(key, data)
            return
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY) as pool:
            for f in [pool.submit(self.put, k, d) for k, d in items]:
                f.result()

    def put_file(self, key: str, path: str) -> None:
        full = self._key(key)
        with awsutil.translate_aws_errors(f"upload s3://{self.bucket}/{full}"):
            self.client.upload_file(path, self.bucket, full, Config=self._transfer_config())

    def get(self, key: str) -> bytes:
        full = self._key(key)
        try:
            with awsutil.translate_aws_errors(f"download s3://{self.bucket}/{full}"):
                return self.client.get_object(Bucket=self.bucket, Key=full)["Body"].read()
        except BackendError as exc:
            if awsutil.error_code(exc) in _MISSING:
                raise self._not_found(key) from None
            raise

    def get_file(self, key: str, path: str) -> None:
        full = self._key(key)
        tmp = f"{path}.{os.getpid()}.part"
        try:
            with awsutil.translate_aws_errors(f"download s3://{self.bucket}/{full}"):
                self.client.download_file(self.bucket, full, tmp, Config=self._transfer_config())
            os.replace(tmp, path)
        except BackendError as exc:
            if awsutil.error_code(exc) in _MISSING:
                raise self._not_found(key) from None
            raise
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            with awsutil.translate_aws_errors(f"look up s3://{self.bucket}/{full}"):
                self.client.head_object(Bucket=self.bucket, Key=full)
        except BackendError as exc:
            if awsutil.error_code(exc) in _MISSING:
                return False
            raise
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        if prefix:
            check_relative(prefix.rstrip("/") or ".", what="object key prefix")
        full = self.prefix + prefix
        with awsutil.translate_aws_errors(f"list s3://{self.bucket}/{full}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            )
            keys = [
                o["Key"][len(self.prefix) :] for page in pages for o in page.get("Contents", [])
            ]
        # S3 lists in UTF-8 byte order already; sorting makes that explicit.
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        full = self._key(key)
        with awsutil.translate_aws_errors(f"delete s3://{self.bucket}/{full}"):
            self.client.delete_object(Bucket=self.bucket, Key=full)

    def presign(self, key: str, method: str = "GET", expires: int = 300) -> str | None:
        ops = {"GET": "get_object", "PUT": "put_object"}
        if method.upper() not in ops:
            raise ValidationError(
                f"cannot presign method {method!r}", code="RC-STORE-011", hint="use GET or PUT"
            )
        full = self._key(key)
        with awsutil.translate_aws_errors(f"presign s3://{self.bucket}/{full}"):
            return self.client.generate_presigned_url(
                ops[method.upper()],
                Params={"Bucket": self.bucket, "Key": full},
                ExpiresIn=max(1, min(int(expires), MAX_PRESIGN)),
            )

    def _not_found(self, key: str) -> NotFoundError:
        return NotFoundError(
            f"object '{key}' not found in s3://{self.bucket}/{self.prefix}", code="RC-STORE-001"
        )

    def close(self) -> None:
        self._client = None
