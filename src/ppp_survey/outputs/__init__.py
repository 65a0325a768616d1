"""Layer 6 — everything people read: charts (:mod:`.plots`, :mod:`.change_charts`), workbook sheets
(:mod:`.excel`, :mod:`.workbook`, :mod:`.matrix_sheets`, :mod:`.change_sheets`) and the matrix page.
Nothing here computes an estimate."""
