"""Layer 4½ — one call that computes every table of a report: :func:`analyse` → :class:`Analysis`.

The report command, the notebooks and the Excel workbook all start from the same
:class:`Analysis`, so a number printed in a notebook is the number in the workbook and the chart;
the year-on-year comparison reads it too (:mod:`ppp_survey.compare.wave`).

* :mod:`.result` — :class:`Analysis`: the protected groups, the weights and every table, with typed
  accessors (``tally``, ``likert_for``, ``share_of_any``, ``association_for``);
* :mod:`.run` — :func:`analyse`: pool small groups and blanks, build the design, rake once, tabulate;
* :mod:`.load` — :func:`load_survey` → :class:`Survey`: an export and its staff frame, analysed.
"""

from ppp_survey.analysis.load import Survey, load_survey
from ppp_survey.analysis.result import Analysis
from ppp_survey.analysis.run import VALUE_COLUMNS, analyse, gt_table_of

__all__ = ["VALUE_COLUMNS", "Analysis", "Survey", "analyse", "gt_table_of", "load_survey"]
