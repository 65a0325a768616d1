"""The synthetic (架空) waves: the generator (:mod:`.generator`) and the writer that puts
respondents back into Forms / CSV / SPSS exports (:mod:`.forms`). ``python -m ppp_survey.synth``."""
