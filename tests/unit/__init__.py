"""Pure code on its own: numerics, protocol, models; no server, database or port."""
