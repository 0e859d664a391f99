"""Stores for server-side state that outlives a request (stored Responses API responses)."""
