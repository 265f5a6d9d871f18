"""The live WebSocket: the hub that fans out live messages, its route, the uvicorn adapter."""
