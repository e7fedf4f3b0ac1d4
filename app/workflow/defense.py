"""Defense scheduling and the defense notice (BJ-DEF-1)."""
