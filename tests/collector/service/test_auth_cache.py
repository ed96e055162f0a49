"""The credential caches are bounded: keys are what clients send (issue 19, 3)."""

from __future__ import annotations

from vantage.collector.service.app import AUTH_CACHE_ENTRIES, BoundedCache


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    assert cache.get("a") == 1  # now the most recent
    cache.put("d", 4)
    assert [key for key, _ in cache.items()] == ["c", "a", "d"]
    assert cache.get("b") is None


def test_guesses_never_grow_it_past_its_capacity() -> None:
    cache: BoundedCache[str, int | None] = BoundedCache(AUTH_CACHE_ENTRIES)
    for guess in range(3 * AUTH_CACHE_ENTRIES):
        cache.put(f"guess-{guess}", None)
    assert len(cache) == AUTH_CACHE_ENTRIES
