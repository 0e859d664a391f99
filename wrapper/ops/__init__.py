"""Operations: rate limits, upstream auth and its probe, the model catalogue, the
response cache, metrics, cost and the debug/deep-health probes.

Each module has one job; :mod:`wrapper.wiring` builds them once at startup and
the app calls them through the small hooks in :mod:`wrapper.ops.admission` and
:mod:`wrapper.ops.observer`.
"""
