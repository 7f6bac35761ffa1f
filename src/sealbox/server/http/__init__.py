"""The HTTP front: the ASGI application, the worker entry point, and the HTTP limits."""
