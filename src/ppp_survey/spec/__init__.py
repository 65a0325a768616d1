"""Layer 1 — the data files and their schema: codebook, staff frame, wave mapping, policy matrix.

A new survey year is a new file here, never new code. Imports only :mod:`ppp_survey.errors`,
:mod:`ppp_survey.constants` and the standard data stack.
"""
