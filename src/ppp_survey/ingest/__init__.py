"""Layer 2 — a response export in, validated respondents out, every row accepted or rejected with a reason.

bytes → cells (:mod:`.read`) → column roles (:mod:`.columns`) → codes into distinct texts
(:mod:`.cells`) → answers (:mod:`.answers`) → row rules and reasons (:mod:`.rows`, :mod:`.reasons`);
:mod:`.load` runs the steps and assembles the result."""
