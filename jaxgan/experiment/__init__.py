"""Building an experiment: the config checked and turned into the `Experiment` a run uses
(`builders`), command-line overrides, saved configs completed, the learning rates logged and
the listing of what a config can name."""
