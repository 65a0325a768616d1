"""Layer 2 — a response export in, validated respondents out: bytes → cells (:mod:`.read`) → rows
through the codebook (:mod:`.load`), every row accepted or rejected with a reason."""
