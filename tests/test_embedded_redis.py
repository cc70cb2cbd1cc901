"""The Redis server `make run` and the tests fall back to on a machine without one."""

import redis

from notesite.embedded_redis import EmbeddedRedis, redis_answers


def test_the_embedded_server_is_a_real_redis_and_stops_cleanly():
    server = EmbeddedRedis().start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    finally:
        server.stop()
    assert not redis_answers(port=server.port)
