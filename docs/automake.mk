# docs/: man pages and references.
