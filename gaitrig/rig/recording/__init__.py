"""Storing what the boards sent: the recorder (batching, writing, spooling) and trials a crash
interrupted."""
