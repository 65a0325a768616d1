from ppp_survey.synth.generator import main

raise SystemExit(main())
