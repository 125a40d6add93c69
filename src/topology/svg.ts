/**
 * The mesh as a picture, for people who would rather look than read: controllers on a circle, each
 * declared link a line coloured by its state (green both ways up, amber one way, red down, grey
 * dashed not configured), a legend, and the problems underneath. A self-contained SVG document.
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
  for (const p of problems) {
    y += 18;
    out.push(`<text x="16" y="${y}" fill="${COLOURS.down}">${esc(p)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
