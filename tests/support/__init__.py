"""What tests and benchmarks share to run real processes on 127.0.0.1 (docs/TESTING.md).

- ``ports.free_port``: a free TCP port;
- ``polling.until``: poll a condition until a deadline (never a fixed sleep);
- ``serve.start_hall_serve``: the one way to start ``hall serve`` and wait until it answers;
- ``redis.redis_server``: a throwaway Redis (the queue between server processes);
- ``pty.PtyPeer``: a device on the far side of a pseudo-terminal, read in the background.
"""
