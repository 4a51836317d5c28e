"""Where files live. One interface, backends picked by ``STORAGE_URL``.

* ``file:///path`` (default ``var/storage``): a local folder.
* ``s3://bucket/prefix`` (``S3_ENDPOINT_URL`` for any S3-compatible store).
* ``cloudinary://`` is not a storage of record: Cloudinary is a delivery copy, see
  ``odyssey_workers.storage.cloudinary``.
"""

from odyssey_workers.storage.base import Storage, StoredObject, validate_key
from odyssey_workers.storage.factory import get_storage, storage_from_url

__all__ = ["Storage", "StoredObject", "get_storage", "storage_from_url", "validate_key"]
