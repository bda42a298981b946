"""Building an experiment, the only package that reads a config: the config checked
(`run_checks`, each plug-in its own section) and turned into the `Experiment` a run uses and
its typed settings (`builders`), command-line overrides, saved configs completed, the learning
rates logged and the listing of what a config can name."""
