"""Work assignment: which probe measures which target each round (pure, deterministic)."""
