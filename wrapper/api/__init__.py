"""The route table and its thin handlers, one module per API area."""
