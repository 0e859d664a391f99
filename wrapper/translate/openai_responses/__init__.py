"""OpenAI Responses: request and input items -> Turn, events -> response objects and events."""
