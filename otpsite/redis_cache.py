"""Django's Redis cache backend with one client, and connection pool, per process."""

import threading

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict = {}
_clients_guard = threading.Lock()


class SharedRedisCache(RedisCache):
    """Django keeps a cache object per thread, which under gevent means per greenlet: per client
    connection. Each would open its own connection pool, so a stream of short client connections
    (a bot running curl per request) would open Redis connections as fast, until the garbage
    collector closed them. Every cache object of a process uses one client instead; redis-py's
    pools may be shared, and start afresh in a forked child."""

    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _clients_guard:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
