"""Ready-to-run graph files bundled with graphflow (``graphflow graphs`` lists them)."""
