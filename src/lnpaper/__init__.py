"""Regenerate the LayerNorm paper: seeded data, experiments, tables, figures, manuscript.

The package holds plain functions; Snakemake scripts in ``workflow/scripts`` only adapt
``snakemake.input/params/output`` to them. Keep this file free of imports: every job pays for them.
"""

__version__ = "0.1.0"
