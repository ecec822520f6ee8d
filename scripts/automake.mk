# scripts/: (see the folder's README)
