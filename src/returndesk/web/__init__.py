"""The HTTP edge: FastAPI app factory, API routes, server-rendered pages."""
