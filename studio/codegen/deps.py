"""Dependency statements: the model's edges written as ``>>`` the way a careful person writes them.

Edges with the same upstream become ``a >> [b, c]``; several upstreams of one task ``[a, b] >> c``;
statements that continue each other are chained (``prepare >> [scale, select] >> train``). Labelled
edges are written one by one as ``a >> Label("yes") >> b`` (``a.set_downstream(b, edge_modifier=...)``
between tasks of different TaskGroups, see ``dependency_statements``). Statements follow the DAG's topological
order (ties in model order), so the block reads from the first task to the last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.codegen.layout import LINE_LENGTH, Atom, Brackets, Node, call, flat, render, text_width
from studio.codegen.pyexpr import string_literal
from studio.core.model import Edge

__all__ = ["dependency_statements"]


@dataclass
class _Statement:
    operands: list[list[str]]  # each operand: one task id, or several written as a list
    label: str | None = None
    consumed: bool = field(default=False, compare=False)


def _plan(edges: list[Edge], rank: dict[str, int]) -> list[_Statement]:
    """Group edges into statements (see the module docstring)."""

    def by_rank(ids: list[str]) -> list[str]:
        return sorted(ids, key=lambda t: rank.get(t, len(rank)))

    downs: dict[str, list[str]] = {}
    labelled: list[_Statement] = []
    for edge in edges:
        if edge.label is not None:
            labelled.append(_Statement([[edge.upstream], [edge.downstream]], edge.label))
        else:
            downs.setdefault(edge.upstream, []).append(edge.downstream)
    plain = [_Statement([[up], by_rank(d)]) for up, d in downs.items()]
    # Fan-in: every upstream whose only downstream is ``d`` goes into one ``[a, b] >> d``.
    merged: list[_Statement] = []
    fan_in: dict[str, _Statement] = {}
    for stmt in sorted(plain, key=lambda s: rank.get(s.operands[0][0], len(rank))):
        if len(stmt.operands[1]) == 1:
            target = stmt.operands[1][0]
            if target in fan_in:
                fan_in[target].operands[0].append(stmt.operands[0][0])
                continue
            fan_in[target] = stmt
        merged.append(stmt)
    for stmt in merged:
        stmt.operands[0] = by_rank(stmt.operands[0])
    # Chains: a statement whose last operand is exactly another statement's upstream side continues it.
    starting: dict[frozenset[str], list[_Statement]] = {}
    for stmt in merged:
        starting.setdefault(frozenset(stmt.operands[0]), []).append(stmt)
    out: list[_Statement] = []
    for stmt in merged:
        if stmt.consumed:
            continue
        stmt.consumed = True
        while True:
            nxt = next((s for s in starting.get(frozenset(stmt.operands[-1]), []) if not s.consumed), None)
            if nxt is None:
                break
            nxt.consumed = True
            stmt.operands.extend(nxt.operands[1:])
        out.append(stmt)

    def first(ids: list[str]) -> int:
        return min(rank.get(t, len(rank)) for t in ids)

    return sorted(out + labelled, key=lambda s: (first(s.operands[0]), first(s.operands[-1])))


def dependency_statements(
    edges: list[Edge],
    rank: dict[str, int],
    var: dict[str, str],
    group_of: dict[str, str | None],
    label_name: str | None,
    indent: int,
) -> list[str]:
    """The ``>>`` statements for ``edges`` (deduplicated), laid out at ``indent``.

    ``group_of`` maps task ids to their TaskGroup (None: the DAG's root). Between tasks of different
    groups a ``Label`` in a ``>>`` chain would connect the *groups* (Airflow's ``EdgeModifier``), so
    such an edge is written ``a.set_downstream(b, edge_modifier=Label(...))``: the one edge, labelled.
    """
    unique: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        if edge.key not in unique or (unique[edge.key].label is None and edge.label is not None):
            unique[edge.key] = edge
    lines = []
    for stmt in _plan(list(unique.values()), rank):
        nodes: list[Node] = [_operand(op, var) for op in stmt.operands]
        if stmt.label is None:
            lines.append(_layout(nodes, indent))
            continue
        label = call(label_name or "Label", [("", Atom(string_literal(stmt.label, multiline=False)))])
        up, down = stmt.operands[0][0], stmt.operands[-1][0]
        if group_of.get(up) == group_of.get(down):
            lines.append(_layout([nodes[0], label, nodes[1]], indent))
        else:
            node = call(f"{var[up]}.set_downstream", [("", Atom(var[down])), ("edge_modifier=", label)])
            lines.append(render(node, indent, indent))
    return lines


def _operand(ids: list[str], var: dict[str, str]) -> Node:
    if len(ids) == 1:
        return Atom(var[ids[0]])
    return Brackets("", "[", "]", [("", Atom(var[i])) for i in ids])


def _layout(nodes: list[Node], indent: int) -> str:
    texts = [flat(n) for n in nodes]
    if all(t is not None for t in texts):
        line = " >> ".join(texts)  # type: ignore[arg-type]
        if indent + text_width(line) <= LINE_LENGTH:
            return line
    if len(nodes) == 2 and isinstance(nodes[1], Brackets) and texts[0] is not None:
        head = texts[0] + " >> "
        return head + render(nodes[1], indent + text_width(head), indent)
    if len(nodes) == 2 and isinstance(nodes[0], Brackets) and texts[1] is not None:
        tail = " >> " + texts[1]
        return render(nodes[0], indent, indent, text_width(tail)) + tail
    inner = indent + 4
    lines = ["("]
    for i, node in enumerate(nodes):
        prefix = "" if i == 0 else ">> "
        lines.append(" " * inner + prefix + render(node, inner + len(prefix), inner))
    lines.append(" " * indent + ")")
    return "\n".join(lines)
