"""Layers around a backend: circuit breaker, retries, CPU budget and observation."""
