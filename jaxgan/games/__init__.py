"""Games: one GAN family each, behind the protocol of `jaxgan.games.protocol`.

`GAMES` maps config.game.name to a factory `(parts: GameParts, **config.game.kwargs) -> Game`;
"module:attribute" names a factory of your own (tests/two_critics_game.py is one, written
only against the protocol).
"""
from jaxgan.core.registry import Registry
from jaxgan.games import cyclegan, progressive, standard
from jaxgan.games.protocol import Game, GameParts

__all__ = ["GAMES", "Game", "GameParts"]

GAMES = Registry("game")
GAMES.register("standard")(standard.build)
GAMES.register("progressive")(progressive.build)
GAMES.register("cyclegan")(cyclegan.build)
