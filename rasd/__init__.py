"""The `rasd` command: the composition root, the only module that imports every stage."""
