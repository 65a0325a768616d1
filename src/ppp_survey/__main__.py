from ppp_survey.report.cli import main

raise SystemExit(main())
