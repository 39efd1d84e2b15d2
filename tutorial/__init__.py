"""Scaffolding the tutorial's notebooks lean on; not meant for copying into your own project.

`helpers/` is the toolkit you copy. This package holds what only the notebooks need: which
provider mode they run in (`tutorial.mode`), a clock that moves when told (`tutorial.clock`),
throwaway folders, environments and git repositories (`tutorial.scratch`, `tutorial.repos`), and the exercise
checks with their hints and solutions.
"""
