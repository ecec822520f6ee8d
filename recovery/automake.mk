# recovery/: (see the folder's README)
