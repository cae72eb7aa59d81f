"""The node catalog and example graphs that ship with graphflow.

In the source repository they are the top-level folders ``nodes/`` and ``graphs/``; the
packaging (``setup.py``) installs them as ``graphflow.bundled.nodes`` and
``graphflow.bundled.graphs``, so that the only top-level name graphflow installs is
``graphflow`` and a project's own ``nodes`` and ``graphs`` never collide with them.

Nothing here is imported when ``graphflow`` is: :mod:`graphflow.catalog` locates these
packages without importing them, and a tool module is imported only when a graph names it
(``nodes.tools.text:review`` resolves to ``graphflow.bundled.nodes.tools.text`` unless the
project has its own ``nodes`` that provides it).
"""
