"""S3 or any S3-compatible store (``S3_ENDPOINT_URL`` overrides the endpoint).

An S3 PUT is atomic by itself: a reader sees the old object or the whole new one, and an
interrupted multipart upload never becomes visible, so no temporary key is needed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import boto3
from botocore.exceptions import ClientError

from odyssey_workers.settings import Settings
from odyssey_workers.storage.base import Storage, StoredObject, validate_key

PRESIGNED_URL_SECONDS = 3600
"""How long a presigned download URL stays valid, in seconds."""


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str, settings: Settings) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.aws_region,
            aws_access_key_id=_secret(settings.aws_access_key_id),
            aws_secret_access_key=_secret(settings.aws_secret_access_key),
        )

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        body: BinaryIO = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
        extra = {"ContentType": content_type} if content_type else {}
        self.client.upload_fileobj(body, self.bucket, self._full(key), ExtraArgs=extra)
        head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        return StoredObject(key=key, size=int(head["ContentLength"]))

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"no object at storage key {key!r}") from None
            raise
        return cast(BinaryIO, response["Body"])

    def delete(self, key: str) -> bool:
        existed = self.exists(key)
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        return existed

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield StoredObject(key=item["Key"][len(self.prefix) :], size=int(item["Size"]))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def url(self, key: str) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._full(key)}, ExpiresIn=PRESIGNED_URL_SECONDS
            )
        )
