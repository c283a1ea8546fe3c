"""The parts of ``benchmarks/quality.py`` (the command line), one job each:

- :mod:`.configs`: the methods' configs and the budgeted run's config
  (``build_cfg``);
- :mod:`.iterations`: epoch -> iteration conversion of hook arguments and
  parameter schedules;
- :mod:`.augment`: photometric augmentations moved from the loader to the
  batch (``--aug batched``);
- :mod:`.translate`: mmpretrain's model and hooks for our config;
- :mod:`.training`: calibration and the run under ``TimeBudgetHook``;
- :mod:`.probes`: kNN and linear probes, random-init baselines;
- :mod:`.report`: the Markdown table, the ``--json`` file, ``--merge``.
"""
