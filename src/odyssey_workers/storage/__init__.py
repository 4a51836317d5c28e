"""Where files live. One interface, backends picked by ``STORAGE_URL``.

* unset, ``file:///path`` or a folder path: a local folder (default ``var/storage``);
* ``s3://bucket/prefix``: S3, or any S3-compatible store through ``S3_ENDPOINT_URL``.

Cloudinary is not a storage of record: it is a delivery copy, made by the content jobs through
their provider. Every backend writes atomically and refuses keys that could leave its root.
"""

from odyssey_workers.storage.base import Storage, StoredObject, validate_key, validate_prefix
from odyssey_workers.storage.factory import get_storage, storage_from_url

__all__ = ["Storage", "StoredObject", "get_storage", "storage_from_url", "validate_key", "validate_prefix"]
