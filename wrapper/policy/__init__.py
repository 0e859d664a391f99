"""Request policy: rate limits, client addresses, the response cache, the app's request hooks."""
