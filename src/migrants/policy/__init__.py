"""Policy levers: cards (``cards``), the engine that applies them inside the month
(``engine``), one module per lever family, and the fiscal accounts.  The public
names are re-exported by :mod:`migrants.policies`."""
