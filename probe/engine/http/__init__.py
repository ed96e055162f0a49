"""HTTP(S): the exchange step over h11 (pure) and its asyncio driver."""
