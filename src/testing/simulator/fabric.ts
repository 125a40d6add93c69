/**
 * The simulated underlay between controllers: which address belongs to which controller, which
 * pairs are cut off from each other, and when a pair's connectivity last changed (peer links take
 * `peerLinkUpMs` to come up again after that). Nothing here ever opens a socket: the addresses exist
 * only inside the simulation.
 */
export interface FabricNode {
  readonly name: string;
  /** Underlay addresses that reach this node: private IP, public IP, public DNS name. */
  readonly addresses: readonly string[];
  /** False while crashed or rebooting. */
  isUp(): boolean;
  /** Time (ms since epoch) since which the node has been up; used for link-up delays. */
  upSince(): number;
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

export class Fabric {
  private readonly nodes: FabricNode[] = [];
  private readonly byAddress = new Map<string, FabricNode>();
  private readonly cut = new Set<string>();
  private readonly changedAt = new Map<string, number>();

  add(node: FabricNode): void {
    this.nodes.push(node);
    for (const address of node.addresses) this.byAddress.set(address.toLowerCase(), node);
  }

  resolve(address: string): FabricNode | undefined {
    return this.byAddress.get(address.trim().toLowerCase());
  }

  partition(a: string, b: string): void {
    const key = pairKey(a, b);
    if (!this.cut.has(key)) {
      this.cut.add(key);
      this.changedAt.set(key, Date.now());
    }
  }

  heal(a: string, b: string): void {
    const key = pairKey(a, b);
    if (this.cut.delete(key)) this.changedAt.set(key, Date.now());
  }

  healAll(): void {
    for (const key of [...this.cut]) {
      this.cut.delete(key);
      this.changedAt.set(key, Date.now());
    }
  }

  isPartitioned(a: string, b: string): boolean {
    return this.cut.has(pairKey(a, b));
  }

  /** Whether `from` can open a connection to whatever answers at `address` right now. */
  reach(from: FabricNode, address: string): FabricNode | undefined {
    const to = this.resolve(address);
    if (!to || !from.isUp() || !to.isUp()) return undefined;
    if (to !== from && this.isPartitioned(from.name, to.name)) return undefined;
    return to;
  }

  /** Whether the underlay between two nodes is open now: both up and no partition between them (IPsec's UDP 500/4500). */
  underlayOpen(a: FabricNode, b: FabricNode): boolean {
    return a.isUp() && b.isUp() && (a === b || !this.isPartitioned(a.name, b.name));
  }

  /** The latest moment the path between the two nodes changed (partition healed, a side came up). */
  pathSince(a: FabricNode, b: FabricNode): number {
    return Math.max(this.changedAt.get(pairKey(a.name, b.name)) ?? 0, a.upSince(), b.upSince());
  }
}
