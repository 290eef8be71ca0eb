"""``lnpaper bench``, by what it measures: builds (timing of whole builds), compute (the
compute-only replay), scale (matmul at scale), models (training loops and their ceiling), report
(the tables). The command line is ``lnpaper.tools.benchmark``."""
