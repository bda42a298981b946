"""Leaf core: errors, the player and run states, named random streams, registries and the
config checks every section shares. Imports nothing else of jaxgan (tests/test_layout.py)."""
