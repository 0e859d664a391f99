"""The composition root: the AppContext built from Settings, once, in the lifespan."""
