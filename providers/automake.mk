# providers/: (see the folder's README)
