"""Redis Sentinel: ``REDIS_URL=redis+sentinel://[:password@]host:26379[,host2:26379]/service[/db]``.

Every client asks the sentinels where the current master of ``service`` is, and asks again
after a failover, so workers follow the master without a restart. The password, if given, is
the master's (sentinels usually need none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis import Redis
from redis.sentinel import Sentinel

DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The sentinels, service name, database and password of a ``redis+sentinel://`` URL."""
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    password = unquote(userinfo.partition(":")[2]) if userinfo else None
    sentinels = []
    for item in filter(None, hostlist.split(",")):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        if not host:
            raise ValueError("expected sentinel hosts, as in redis+sentinel://host:26379,host2:26379/mymaster")
        if port and not port.isdigit():
            raise ValueError("expected a numeric port for every sentinel")
        sentinels.append((host, int(port) if port else DEFAULT_SENTINEL_PORT))
    if not sentinels:
        raise ValueError("expected sentinel hosts, as in redis+sentinel://host:26379,host2:26379/mymaster")
    path = [segment for segment in parts.path.split("/") if segment]
    if not path:
        raise ValueError("expected the service name after the hosts, as in redis+sentinel://host:26379/mymaster")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("expected /service or /service/db after the hosts")
    return SentinelTarget(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0, password or None)


def sentinel_master(url: str, **options: Any) -> Redis:
    """A client of the service's current master, found through the sentinels."""
    target = parse_sentinel_url(url)
    timeout = options.get("socket_connect_timeout", 5)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), socket_timeout=timeout, socket_connect_timeout=timeout
    )
    master: Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.service, db=target.db, password=target.password, **options
    )
    return master
