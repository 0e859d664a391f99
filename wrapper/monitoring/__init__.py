"""What the server is watched with: Prometheus metrics and the deep health probe."""
