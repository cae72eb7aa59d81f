"""Functions that the gallery graphs (``graphs/gallery/``) call from their function nodes."""
