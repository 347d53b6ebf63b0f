# Hydra discovers plugins only under the `hydra_plugins` namespace package and instantiates a
# sweeper only if its class lives there; the implementation is genarch.sweeper.
