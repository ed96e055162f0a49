"""DNS: the query step (pure) and its asyncio driver."""
