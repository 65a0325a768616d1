"""``python -m ppp_survey.report``: the report's command line (:func:`ppp_survey.report.cli.command`)."""

try:
    from ppp_survey.report.cli import command
except KeyboardInterrupt:  # Ctrl-C while the libraries load: one line, as the command line says it
    import sys

    print("中断しました（Ctrl+C）。出力先のファイルは前回のままです", file=sys.stderr)  # = cli.INTERRUPTED
    raise SystemExit(130) from None

command()
