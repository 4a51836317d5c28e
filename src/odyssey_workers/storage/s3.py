"""S3 or any S3-compatible store (MinIO, R2, moto ...; ``S3_ENDPOINT_URL`` overrides the endpoint).

An S3 PUT is atomic by itself: a reader sees the old object or the whole new one, and a
multipart upload interrupted half-way never becomes visible (it is not listed either), so no
temporary key is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NoReturn, TypeVar, cast

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from odyssey_workers.errors import ConfigurationError, RetryableError
from odyssey_workers.settings import Settings
from odyssey_workers.storage.base import Storage, StoredObject, validate_key, validate_prefix

T = TypeVar("T")

PRESIGNED_URL_SECONDS = 3600
"""How long a presigned download URL stays valid, in seconds."""

MULTIPART_BYTES = 8 * 1024 * 1024
"""Streams larger than this go up in parts of this size (S3's minimum part is 5 MiB), in bytes."""

UPLOAD_THREADS = 4
"""Parts uploaded at once; each holds one part in memory."""

DELETE_BATCH = 1000
"""Keys per DeleteObjects request (S3's maximum)."""

MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
CREDENTIAL_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"})


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str, settings: Settings) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.endpoint = settings.s3_endpoint_url
        config = Config(
            signature_version="s3v4",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            # S3-compatible servers (MinIO, moto, Ceph) expect bucket-in-path addressing.
            s3={"addressing_style": "path" if self.endpoint else "auto"},
        )
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=settings.aws_region,
            aws_access_key_id=_secret(settings.aws_access_key_id),
            aws_secret_access_key=_secret(settings.aws_secret_access_key),
            config=config,
        )
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=UPLOAD_THREADS
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _fail(self, exc: Exception) -> NoReturn:
        """Turn a store error into one readable error: settings problems and passing faults."""
        cause = exc.__context__ if isinstance(exc, S3UploadFailedError) else exc
        if isinstance(cause, ClientError):
            code = _code(cause)
            if code == "NoSuchBucket":
                raise ConfigurationError(f"STORAGE_URL: bucket {self.bucket!r} does not exist") from None
            if code in CREDENTIAL_CODES:
                raise ConfigurationError(
                    f"S3 refused the credentials for bucket {self.bucket!r} ({code}); "
                    "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ) from None
        if isinstance(cause, EndpointConnectionError):
            raise RetryableError(f"S3 endpoint {self.endpoint or 'aws'} is unreachable") from None
        raise exc

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            self._fail(exc)

    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        full = self._full(key)
        extra = {"ContentType": content_type} if content_type else {}
        if isinstance(data, bytes | bytearray | memoryview):
            body = bytes(data)
            self._call(lambda: self.client.put_object(Bucket=self.bucket, Key=full, Body=body, **extra))
            return StoredObject(key=key, size=len(body))
        self._call(lambda: self.client.upload_fileobj(data, self.bucket, full, ExtraArgs=extra, Config=self.transfer))
        head = self._call(lambda: self.client.head_object(Bucket=self.bucket, Key=full))
        return StoredObject(key=key, size=int(head["ContentLength"]))

    def open(self, key: str) -> BinaryIO:
        full = self._full(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _code(exc) in MISSING_KEY_CODES:
                raise FileNotFoundError(f"no object at storage key {key!r}") from None
            self._fail(exc)
        except BotoCoreError as exc:
            self._fail(exc)
        return cast(BinaryIO, response["Body"])

    def delete(self, key: str) -> bool:
        existed = self.exists(key)
        full = self._full(key)
        self._call(lambda: self.client.delete_object(Bucket=self.bucket, Key=full))
        return existed

    def delete_prefix(self, prefix: str) -> int:
        keys = [self.prefix + item.key for item in self.list(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = {"Objects": [{"Key": k} for k in keys[start : start + DELETE_BATCH]], "Quiet": True}
            response = self._call(functools.partial(self.client.delete_objects, Bucket=self.bucket, Delete=batch))
            errors = response.get("Errors") or []
            if errors:
                raise RetryableError(f"S3 could not delete {len(errors)} object(s) under {prefix!r}")
        return len(keys)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        validate_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(key=item["Key"][len(self.prefix) :], size=int(item["Size"]))
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc)

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _code(exc) in MISSING_KEY_CODES:
                return False
            self._fail(exc)
        except BotoCoreError as exc:
            self._fail(exc)
        return True

    def url(self, key: str) -> str:
        full = self._full(key)
        params = {"Bucket": self.bucket, "Key": full}
        return str(self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGNED_URL_SECONDS))

    def check(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise ConfigurationError(f"STORAGE_URL: bucket {self.bucket!r} does not exist") from None
            self._fail(exc)
        except BotoCoreError as exc:
            self._fail(exc)
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint or 'aws'}"
