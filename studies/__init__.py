"""Studies of the product against public recordings (not part of the package)."""
