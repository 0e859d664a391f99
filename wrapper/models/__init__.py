"""The model catalogue: the static list, the live one from Claude's API, and what is served."""
