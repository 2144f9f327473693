"""The anchors a YAML text's denied values reach through aliases, for
:mod:`.redaction_yaml`.

A denied key's value that is an alias (``password: *b``) has its anchored node hidden,
and so has each node an alias inside that one names (``y: &b [*a]``: ``a``'s value went
out; review131). That was a pass over the text for each link of such a chain, every
anchor hidden after 4: six passes, 17-18 s for a MiB of 40,000 links on a loaded machine
(hostile43). Here one pass hides every anchored node and notes what each holds (the
aliases in it, the anchors inside it): the anchors reached are then found in one walk
over that graph, each alias followed once.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Tuple, Union

from readme_metrics.har.yaml_anchors import anchor_names
from readme_metrics.har.yaml_lines import ALIASES

__all__ = ["AnchorGraph", "alias_names", "aliased"]

#: A pass over a YAML text: the text, each node an anchor of the set names hidden, the one
#: told of each such node (its anchor, its text; ``None``: their aliases are returned),
#: to the text, the aliases of the values hidden, and whether a text hidden held a ``&``.
Hide = Callable[[str, "frozenset[str]", Optional[Callable[[str, str], None]]],
                Tuple[str, "list[str]", bool]]


def alias_names(node: str) -> list[str]:
    """The names of the anchors the aliases written in ``node`` name."""
    return [found.group(1) for found in ALIASES.finditer(node)] if "*" in node else []


class _Every(frozenset[str]):
    """Every anchor's name (a pass given it hides each anchored node)."""

    def __contains__(self, name: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


#: Every anchor's name.
EVERY: frozenset[str] = _Every()


class AnchorGraph:
    """Each anchored node hidden by a pass, by its anchor's name: its text (its aliases
    read from it once it is reached; a name put on several nodes, all of them), and the
    anchors inside it (a node inside a hidden one is not read on its own: its aliases are
    taken to be all of the outer node's, more, never fewer)."""

    __slots__ = ("_within", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[str, Union[str, list[str]]] = {}
        self._within: dict[str, list[str]] = {}

    def add(self, anchor: str, node: str) -> None:
        """The node ``anchor`` is put on (its text, hidden) noted."""
        nodes = self.nodes
        held = nodes.get(anchor)
        if held is None:
            nodes[anchor] = node if "*" in node else ""
        elif isinstance(held, str):
            nodes[anchor] = [held, node]
        else:
            held.append(node)
        if "&" in node:
            for inner in anchor_names(node):
                self._within.setdefault(inner, []).append(anchor)

    def reached(self, aliases: Iterable[str]) -> set[str]:
        """The anchors ``aliases`` name, and those the aliases in their nodes name, on to
        the chain's end: each node's text read once (linear in the graph)."""
        reached: set[str] = set()
        read: set[str] = set()  # (outer nodes read for an anchor inside them)
        within = self._within
        waiting = list(aliases)
        while waiting:
            name = waiting.pop()
            if name in reached:
                continue
            reached.add(name)
            waiting += self._aliases(name)
            for outer in within.get(name, ()):
                if outer not in read:
                    read.add(outer)
                    waiting += self._aliases(outer)
        return reached

    def _aliases(self, anchor: str) -> list[str]:
        """The names the aliases in the nodes of ``anchor`` name."""
        held = self.nodes.get(anchor, "")
        if isinstance(held, str):
            return alias_names(held)
        return [name for node in held for name in alias_names(node)]


def aliased(text: str, aliases: list[str], hide: Hide) -> tuple[str, bool]:
    """``text`` with each node ``aliases`` name hidden (by ``hide``, its anchor kept), and
    each node an alias in a node hidden names, on to a chain's end (``y: &b [*a]`` then
    ``password: *b``: ``a``'s value went out; review131), and whether a text hidden held
    a ``&``. One pass hides every anchored node, noting them; the anchors reached are
    found in one walk over them: that pass's text when it hid those alone, else a second
    pass hiding those."""
    graph = AnchorGraph()
    whole, more, anchored = hide(text, EVERY, graph.add)
    covered = graph.reached(aliases + more)
    if len(covered) == len(graph.nodes) and all(name in covered for name in graph.nodes):
        return whole, anchored  # (it hid the anchors reached, and no other)
    del whole, graph
    for _ in range(4):  # (once when the graph is read right: a guard)
        hidden, more, anchored = hide(text, frozenset(covered), None)
        if covered.issuperset(more):
            return hidden, anchored
        covered.update(more)
    whole, _, anchored = hide(text, EVERY, None)
    return whole, anchored
