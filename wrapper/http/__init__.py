"""The hand-written HTTP layer: requests, responses, routing, SSE framing and the stream pump."""
