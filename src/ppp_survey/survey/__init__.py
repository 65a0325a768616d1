"""Layer 3 — the design-based statistics: design, estimators and their shared kernels, tests
(Rao–Scott, group vs rest), tallies and cross-tabs, response rates, disclosure control."""
