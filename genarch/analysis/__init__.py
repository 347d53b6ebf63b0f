"""Post-sweep analysis (Genetic Architect): what do the top trials have in common, which
hyperparameters matter, how do they interact, and what should the next stage search?

Entry points: :func:`genarch.analysis.pipeline.analyze_sweep` (a finished sweep directory),
:func:`genarch.analysis.pipeline.analyze` (any :class:`~genarch.analysis.trials.TrialTable`),
``python -m genarch.analyze`` (the command) and
:class:`genarch.analysis.callback.AnalysisCallback` (Hydra ``on_multirun_end``).
Heavy imports happen in the submodules, so importing this package stays cheap.
"""
