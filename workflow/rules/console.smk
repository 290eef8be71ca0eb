# What a build prints: a short summary when it ends, one line naming the failed step and its log
# when it fails. The default profile's `quiet` keeps the job listings off the console; they stay
# in Snakemake's log file (lnpaper.pipeline.console explains).
import time as _time

from lnpaper.pipeline import console as _console

_BUILD_STARTED = _time.time()
if workflow.is_main_process:
    _console.keep_full_log(workflow.logger_manager)


onsuccess:
    print(
        _console.success_summary(
            ".",
            log,
            _BUILD_STARTED,
            config["mlflow"].get("ui_url"),
            config["mlflow"]["enabled"],
        ),
        file=sys.stderr,
    )


onerror:
    print(_console.failure_line(log), file=sys.stderr)
