import type { AnyStateMachine, AnyStateNode } from 'xstate';

/**
 * `msgbot-gateway diagram`: a Mermaid `stateDiagram-v2` read from the machine definition itself
 * (its StateNode tree), so the docs cannot drift from the code. Shows nesting, parallel regions,
 * initial and final states, and every transition that changes state with its event, `after` delay
 * and guard. Transitions without a target (actions only) change no state and are left out.
 */

type Transition = AnyStateNode['transitions'] extends Map<string, Array<infer T>> ? T : never;

/** Words Mermaid's state-diagram grammar gives a meaning, so they cannot be bare state ids. */
const RESERVED = new Set([
  'state',
  'note',
  'end',
  'direction',
  'as',
  'class',
  'classDef',
  'style',
  'click',
  'default',
  'fork',
  'join',
  'choice',
  'left',
  'right',
  'of',
]);

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => allNodes(child))];
}

/** Short ids where a key is unique in the machine, path-based ones where it is not. */
function assignIds(root: AnyStateNode): Map<AnyStateNode, string> {
  const nodes = allNodes(root).filter((n) => n !== root);
  const keyCount = new Map<string, number>();
  for (const n of nodes) keyCount.set(n.key, (keyCount.get(n.key) ?? 0) + 1);
  const ids = new Map<AnyStateNode, string>();
  const used = new Set<string>();
  for (const n of nodes) {
    const simple = keyCount.get(n.key) === 1 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(n.key) && !RESERVED.has(n.key);
    let id = simple ? n.key : n.path.join('_').replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(id) || RESERVED.has(id)) id = `s_${id}`;
    const base = id;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    ids.set(n, id);
  }
  return ids;
}

function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const nested = (guard as { guards?: unknown }).guards;
    const name = guard.name || 'guard';
    return Array.isArray(nested) ? `${name}(${nested.map(guardLabel).join(', ')})` : name;
  }
  if (guard && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') {
    return (guard as { type: string }).type;
  }
  return 'guard';
}

function delayLabel(delay: unknown, machine: AnyStateMachine): string {
  if (typeof delay === 'number') return `after ${delay}ms`;
  if (typeof delay === 'string') {
    const impl = (machine.implementations.delays as Record<string, unknown>)[delay];
    return typeof impl === 'number' ? `after ${delay} (${impl}ms)` : `after ${delay}`;
  }
  return 'after (computed delay)';
}

/** An invoke without an id gets `0.machine.state`; its `src` name says more. */
function actorName(node: AnyStateNode, actorId: string): string {
  if (!/^\d+\./.test(actorId)) return actorId;
  const src = node.invoke.find((inv) => inv.id === actorId)?.src;
  return typeof src === 'string' ? src : actorId;
}

function eventLabel(node: AnyStateNode, eventType: string, machine: AnyStateMachine): string {
  if (eventType === '') return 'always';
  const delayed = node.after.find((t) => t.eventType === eventType);
  if (delayed) return delayLabel(delayed.delay, machine);
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  if (eventType.startsWith('xstate.done.actor.')) return `done: ${actorName(node, eventType.slice(18))}`;
  if (eventType.startsWith('xstate.error.actor.')) return `error: ${actorName(node, eventType.slice(19))}`;
  return eventType;
}

function isAncestorOrSelf(ancestor: AnyStateNode, node: AnyStateNode): boolean {
  for (let n: AnyStateNode | undefined = node; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

/**
 * The composite whose block an edge is written in: the nearest common ancestor strictly above
 * source and targets that is not a parallel state (lines inside a parallel block belong to its
 * last region).
 */
function edgeContainer(source: AnyStateNode, targets: readonly AnyStateNode[], root: AnyStateNode): AnyStateNode {
  let c: AnyStateNode = source.parent ?? root;
  while (c !== root && !targets.every((t) => isAncestorOrSelf(c, t) && t !== c)) c = c.parent ?? root;
  while (c !== root && c.type === 'parallel') c = c.parent ?? root;
  return c;
}

/** Mermaid ends a statement at `;` and reads braces as blocks. */
function clean(text: string): string {
  return text.replace(/[;{}\n]/g, ' ');
}

export function toMermaid(machine: AnyStateMachine): string {
  const root = machine.root;
  const ids = assignIds(root);
  const edges = new Map<AnyStateNode, Set<string>>();
  // transitions of the machine root apply in every state: shown as a note on their target
  const fromAnyState = new Map<AnyStateNode, string[]>();

  for (const node of allNodes(root)) {
    const transitions: Array<[string, Transition]> = [];
    for (const [eventType, list] of node.transitions) for (const t of list) transitions.push([eventType, t]);
    for (const t of node.always ?? []) transitions.push(['', t]);
    for (const [eventType, t] of transitions) {
      const targets = (t.target ?? []) as AnyStateNode[];
      if (targets.length === 0) continue;
      const guard = t.guard === undefined ? '' : ` [${guardLabel(t.guard)}]`;
      const label = clean(`${eventLabel(node, eventType, machine)}${guard}`);
      if (node === root) {
        for (const target of targets) fromAnyState.set(target, [...(fromAnyState.get(target) ?? []), label]);
        continue;
      }
      const container = edgeContainer(node, targets, root);
      const set = edges.get(container) ?? new Set<string>();
      for (const target of targets) set.add(`${ids.get(node)} --> ${ids.get(target)} : ${label}`);
      edges.set(container, set);
    }
  }

  const lines = ['stateDiagram-v2'];

  function declare(node: AnyStateNode, indent: string): void {
    const id = ids.get(node)!;
    if (node.type === 'compound' || node.type === 'parallel') {
      lines.push(`${indent}state ${id} {`);
      body(node, `${indent}  `);
      lines.push(`${indent}}`);
      return;
    }
    const label = node.type === 'history' ? (node.history === 'deep' ? 'H*' : 'H') : node.key;
    lines.push(label === id ? `${indent}${id}` : `${indent}state "${clean(label)}" as ${id}`);
  }

  function body(node: AnyStateNode, indent: string): void {
    const children = Object.values(node.states);
    if (node.type === 'parallel') {
      children.forEach((region, i) => {
        if (i > 0) lines.push(`${indent}--`);
        declare(region, indent);
      });
      return;
    }
    for (const initial of node.initial?.target ?? []) lines.push(`${indent}[*] --> ${ids.get(initial)}`);
    for (const child of children) declare(child, indent);
    for (const edge of edges.get(node) ?? []) lines.push(`${indent}${edge}`);
    for (const child of children) if (child.type === 'final') lines.push(`${indent}${ids.get(child)} --> [*]`);
  }

  body(root, '  ');
  for (const [target, labels] of fromAnyState) {
    lines.push(`  note left of ${ids.get(target)} : from any state on ${labels.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
