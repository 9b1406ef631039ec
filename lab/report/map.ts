// The report's map: who is where. On loopback, the roles in the groups of the story, joined where
// they talked in this run; in ns mode, every host and router of the small internet, joined by its
// cables (veth pairs), laid out by how many cables each is from the phones. Each node is clickable
// (the page script shows what it is and what it did).
import { lang, type Lang } from '../lang.ts';
import type { NetPlan } from '../net-ns/plan.ts';
import { GROUPS, escapeHtml } from './diagram.ts';
import { reportWords } from './words/index.ts';

export interface MapNode {
  /** The role's name (or, in ns mode, the host's). */
  id: string;
  label: string;
  address: string;
  router?: boolean;
  column: number;
}

export interface MapEdge {
  a: string;
  b: string;
  /** ns mode: the cable's network (its CIDR) and its one-way delay. */
  network?: string;
  delayMs?: number;
}

/** Loopback: a column per group of the story, an edge per pair of roles that exchanged a message. */
export function loopbackMap(roles: ReadonlyArray<{ name: string; address: string }>, talked: ReadonlyArray<[string, string]>): { nodes: MapNode[]; edges: MapEdge[] } {
  const nodes: MapNode[] = [];
  for (const r of roles) {
    const column = GROUPS.findIndex((g) => g.roles.includes(r.name));
    nodes.push({ id: r.name, label: r.name, address: r.address, column: column < 0 ? GROUPS.length : column });
  }
  const seen = new Set<string>();
  const edges: MapEdge[] = [];
  for (const [a, b] of talked) {
    const key = [a, b].sort().join(' ');
    if (seen.has(key) || a === b || !nodes.some((n) => n.id === a) || !nodes.some((n) => n.id === b)) continue;
    seen.add(key);
    edges.push({ a, b });
  }
  return { nodes, edges };
}

/** ns mode: hosts and routers, a column per number of cables from the nearest phone (breadth-first). */
export function namespaceMap(net: NetPlan): { nodes: MapNode[]; edges: MapEdge[] } {
  const phones = Object.values(net.phones).map((p) => p.host);
  const depth = new Map<string, number>(phones.map((p) => [p, 0]));
  const queue = [...phones];
  while (queue.length) {
    const h = queue.shift()!;
    for (const l of net.links) {
      const other = l.a.host === h ? l.b.host : l.b.host === h ? l.a.host : undefined;
      if (other !== undefined && !depth.has(other)) {
        depth.set(other, depth.get(h)! + 1);
        queue.push(other);
      }
    }
  }
  const nodes = net.hosts.map((h) => {
    const roles = Object.entries(net.roles).filter(([, r]) => r.host === h.name).map(([name]) => name);
    // Address and prefix: the subnet is part of what the map shows (a router's first interface; hover a cable for its subnet).
    const first = h.interfaces.find((i) => i.address);
    const address = first ? `${first.address}/${first.prefix}` : '';
    const others = roles.filter((r) => r !== h.name);
    return { id: h.name, label: others.length ? `${h.name} (${others.join(', ')})` : h.name, address, router: h.kind === 'router', column: depth.get(h.name) ?? 0 };
  });
  const cidr = (name: string) => net.networks.find((n) => n.name === name)?.cidr;
  const edges = net.links.filter((l) => l.a.host !== l.b.host).map((l) => ({ a: l.a.host, b: l.b.host, network: cidr(l.network) ?? l.network, delayMs: l.delayMs }));
  return { nodes, edges };
}

const COLUMN = 200;
const ROW = 50;

/** At most this many nodes in a column: a taller one is split, so the picture stays wide rather than tall (a projector is). */
const MAX_PER_COLUMN = 6;

export function mapSvg(map: { nodes: MapNode[]; edges: MapEdge[] }, l: Lang = lang()): string {
  const w = reportWords(l).html;
  const perColumn = new Map<number, MapNode[]>();
  let at0 = 0;
  for (const c of [...new Set(map.nodes.map((n) => n.column))].sort((a, b) => a - b)) {
    const list = map.nodes.filter((n) => n.column === c);
    for (let i = 0; i < list.length; i += MAX_PER_COLUMN) perColumn.set(at0++, list.slice(i, i + MAX_PER_COLUMN));
  }
  const columns = [...perColumn.keys()];
  const tallest = Math.max(1, ...[...perColumn.values()].map((l) => l.length));
  const height = tallest * ROW + 20;
  const width = columns.length * COLUMN + 20;
  const at = new Map<string, { x: number; y: number }>();
  columns.forEach((c, ci) => {
    const list = perColumn.get(c)!;
    const top = (height - list.length * ROW) / 2;
    list.forEach((n, i) => at.set(n.id, { x: 10 + ci * COLUMN + COLUMN / 2, y: top + i * ROW + ROW / 2 }));
  });
  const parts: string[] = [];
  for (const e of map.edges) {
    const a = at.get(e.a);
    const b = at.get(e.b);
    if (!a || !b) continue;
    parts.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" class="map-edge" data-a="${escapeHtml(e.a)}" data-b="${escapeHtml(e.b)}"><title>${escapeHtml(w.cable(e.a, e.b, e.network, e.delayMs))}</title></line>`);
  }
  for (const n of map.nodes) {
    const { x, y } = at.get(n.id)!;
    const w = COLUMN - 24;
    parts.push(
      `<g class="node${n.router ? ' router' : ''}" data-role="${escapeHtml(n.id)}" tabindex="0" role="button" aria-label="${escapeHtml(`${n.label} ${n.address}`)}">` +
        `<rect x="${x - w / 2}" y="${y - 20}" width="${w}" height="40" rx="${n.router ? 20 : 6}"/>` +
        `<text x="${x}" y="${y - 3}" class="node-name">${escapeHtml(n.label.length > 24 ? `${n.label.slice(0, 23)}…` : n.label)}</text>` +
        `<text x="${x}" y="${y + 14}" class="node-address">${escapeHtml(n.address)}</text></g>`,
    );
  }
  return `<svg class="map" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMidYMin meet" role="img" aria-label="${escapeHtml(w.mapAria)}">${parts.join('')}</svg>`;
}
