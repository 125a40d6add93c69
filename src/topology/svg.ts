/**
 * The mesh as a picture, for people who would rather look than read: controllers on a circle, each
 * declared link a line coloured by its state (green both ways up, amber one way, red down, grey
 * dashed not configured), IPsec bridges as dotted curves (green connected, red not), a legend,
 * and the problems underneath. A self-contained SVG document.
 */
import type { TopologyStatus } from './status.js';

const COLOURS = { up: '#2e7d32', half: '#f9a825', down: '#c62828', none: '#9e9e9e' } as const;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

type LinkState = keyof typeof COLOURS;

function linkState(status: TopologyStatus, a: string, b: string): LinkState {
  const ab = status.controllers.find((c) => c.name === a)?.links.find((l) => l.to === b);
  const ba = status.controllers.find((c) => c.name === b)?.links.find((l) => l.to === a);
  const up = [ab, ba].filter((l) => l?.reachable).length;
  if (up === 2) return 'up';
  if (up === 1) return 'half';
  return ab?.configured || ba?.configured ? 'down' : 'none';
}

/** Each bridge a dotted curve bowed to one side, so that it does not hide the peering line between the same two controllers. */
function drawBridges(status: TopologyStatus, at: Map<string, { x: number; y: number }>, out: string[]): void {
  for (const b of status.bridges ?? []) {
    const [p, q] = [at.get(b.a.controller), at.get(b.b.controller)];
    if (!p || !q) continue;
    const [dx, dy] = [q.x - p.x, q.y - p.y];
    const length = Math.hypot(dx, dy) || 1;
    const [mx, my] = [(p.x + q.x) / 2 - (dy / length) * 40, (p.y + q.y) / 2 + (dx / length) * 40];
    const colour = b.connected ? COLOURS.up : COLOURS.down;
    const state = b.connected ? 'connected' : `not connected (${[b.a, b.b].filter((s) => !s.connected).map((s) => `${s.controller}: ${s.detail ?? 'unknown'}`).join('; ')})`;
    out.push(
      `<path d="M ${p.x.toFixed(1)} ${p.y.toFixed(1)} Q ${mx.toFixed(1)} ${my.toFixed(1)} ${q.x.toFixed(1)} ${q.y.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="3" stroke-dasharray="2 5" stroke-linecap="round"><title>${esc(`IPsec ${b.name}: ${b.a.controller} – ${b.b.controller}: ${state}`)}</title></path>`,
      `<text x="${((p.x + q.x) / 4 + mx / 2).toFixed(1)}" y="${((p.y + q.y) / 4 + my / 2 - 6).toFixed(1)}" text-anchor="middle" fill="${colour}" font-size="11">IPsec ${esc(b.name)}</text>`,
    );
  }
}

/** An SVG document of the mesh: nodes, links coloured by state, a legend and the problems. */
export function renderSvg(status: TopologyStatus, title = 'VNS3 mesh'): string {
  const n = status.controllers.length;
  const radius = n <= 1 ? 0 : Math.max(120, n * 28);
  const cx = radius + 160;
  const cy = radius + 90;
  const width = cx * 2;
  const problems = status.problems.slice(0, 12);
  const height = cy + radius + 110 + problems.length * 18;
  const at = new Map(status.controllers.map((c, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
    return [c.name, { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) }];
  }));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width.toFixed(0)}" height="${height.toFixed(0)}" viewBox="0 0 ${width.toFixed(0)} ${height.toFixed(0)}" font-family="sans-serif" font-size="13">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="bold">${esc(title)}: ${status.ok ? 'matches the topology' : `${status.problems.length} problem(s)`}</text>`,
  ];
  const drawn = new Set<string>();
  for (const c of status.controllers) {
    for (const l of c.links) {
      const key = [c.name, l.to].sort().join('\u0000');
      if (drawn.has(key)) continue;
      drawn.add(key);
      const [p, q] = [at.get(c.name), at.get(l.to)];
      if (!p || !q) continue;
      const state = linkState(status, c.name, l.to);
      const dash = state === 'none' ? ' stroke-dasharray="6 4"' : '';
      out.push(`<line x1="${p.x.toFixed(1)}" y1="${p.y.toFixed(1)}" x2="${q.x.toFixed(1)}" y2="${q.y.toFixed(1)}" stroke="${COLOURS[state]}" stroke-width="3"${dash}><title>${esc(`${c.name} – ${l.to}: ${state}`)}</title></line>`);
    }
  }
  drawBridges(status, at, out);
  for (const c of status.controllers) {
    const p = at.get(c.name)!;
    const fill = !c.reachable ? COLOURS.down : c.licensed ? '#1565c0' : COLOURS.none;
    const sub = `${c.host}${c.peerId ? ` · id ${c.peerId}` : ''}${c.ha ? ` · HA ${c.ha.role}` : ''}`;
    out.push(
      `<g><circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="26" fill="${fill}" stroke="#ffffff" stroke-width="3"><title>${esc(`${c.name} (${c.host}): ${c.reachable ? (c.licensed ? 'licensed' : 'not licensed') : 'not reachable'}`)}</title></circle>`,
      `<text x="${p.x.toFixed(1)}" y="${(p.y + 5).toFixed(1)}" text-anchor="middle" fill="#ffffff" font-weight="bold">${esc(c.name.slice(0, 6))}</text>`,
      `<text x="${p.x.toFixed(1)}" y="${(p.y + 44).toFixed(1)}" text-anchor="middle" fill="#333333">${esc(c.name)}</text>`,
      `<text x="${p.x.toFixed(1)}" y="${(p.y + 60).toFixed(1)}" text-anchor="middle" fill="#666666" font-size="11">${esc(sub)}</text></g>`,
    );
  }
  let y = cy + radius + 90;
  const legend: [LinkState, string][] = [['up', 'up both ways'], ['half', 'up one way'], ['down', 'down'], ['none', 'not configured']];
  legend.forEach(([state, label], i) => {
    const x = 16 + i * 150;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${COLOURS[state]}" stroke-width="3"${state === 'none' ? ' stroke-dasharray="6 4"' : ''}/>`, `<text x="${x + 34}" y="${y + 4}">${label}</text>`);
  });
  if ((status.bridges ?? []).length > 0) {
    const x = 16 + legend.length * 150;
    out.push(`<path d="M ${x} ${y} L ${x + 28} ${y}" stroke="${COLOURS.up}" stroke-width="3" stroke-dasharray="2 5" stroke-linecap="round"/>`, `<text x="${x + 34}" y="${y + 4}">IPsec bridge</text>`);
  }
  for (const p of problems) {
    y += 18;
    out.push(`<text x="16" y="${y}" fill="${COLOURS.down}">${esc(p)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
