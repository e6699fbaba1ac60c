"""Data fastnn makes itself: synthetic compositional tasks over binary trees
(and the tree checking the tree networks use)."""
from fastnn.datasets._trees import (
    TreeTable, check_trees, make_tree_expressions, to_array,
    to_nested,
)

__all__ = ["TreeTable", "check_trees", "make_tree_expressions", "to_array", "to_nested"]
