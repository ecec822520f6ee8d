# bench/: (see the folder's README)
