"""The engine: training loop (and, with the network issue, layers and networks)."""
