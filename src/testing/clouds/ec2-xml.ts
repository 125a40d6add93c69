import { instanceStateCode, type Ec2Instance, type Ec2Route, type Ec2RouteTable, type Filters } from './ec2-model.js';

const OWNER_ID = '123456789012';

export function xmlEscape(s: string): string {
  // Values only ever appear as element text, where quotes need no escaping.
  return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(String(value))}</${name}>`;
}

function items(list: string[]): string {
  return list.map((x) => `<item>${x}</item>`).join('');
}

/** `RouteTableId.1=a&RouteTableId.2=b` → ['a', 'b'], in index order. */
export function listParam(params: URLSearchParams, prefix: string): string[] {
  const found: [number, string][] = [];
  for (const [k, v] of params) {
    const m = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)$`).exec(k);
    if (m) found.push([Number(m[1]), v]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** `Filter.N.Name` / `Filter.N.Value.M` → Map(name → values). */
export function filterParams(params: URLSearchParams): Filters {
  const filters: Filters = new Map();
  for (const [k, name] of params) {
    const m = /^Filter\.(\d+)\.Name$/.exec(k);
    if (!m) continue;
    const values = listParam(params, `Filter.${m[1]}.Value`);
    filters.set(name, [...(filters.get(name) ?? []), ...values]);
  }
  return filters;
}

function tagSet(tags: Record<string, string>): string {
  return `<tagSet>${items(Object.entries(tags).map(([k, v]) => el('key', k) + el('value', v)))}</tagSet>`;
}

function routeXml(r: Ec2Route, state: string): string {
  const dest = r.destination.includes(':')
    ? el('destinationIpv6CidrBlock', r.destination)
    : el('destinationCidrBlock', r.destination);
  return (
    dest +
    el('gatewayId', r.gatewayId) +
    el('instanceId', r.instanceId) +
    (r.instanceId !== undefined ? el('instanceOwnerId', OWNER_ID) : '') +
    el('networkInterfaceId', r.networkInterfaceId) +
    el('state', state) +
    el('origin', r.origin)
  );
}

export function describeRouteTablesXml(
  requestId: string,
  tables: Ec2RouteTable[],
  stateOf: (r: Ec2Route) => string,
): string {
  const body = tables.map(
    (t) =>
      el('routeTableId', t.routeTableId) +
      el('vpcId', t.vpcId) +
      el('ownerId', OWNER_ID) +
      `<routeSet>${items(t.routes.map((r) => routeXml(r, stateOf(r))))}</routeSet>` +
      '<associationSet/><propagatingVgwSet/>' +
      tagSet(t.tags),
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRouteTablesResponse>${el('requestId', requestId)}<routeTableSet>${items(body)}</routeTableSet></DescribeRouteTablesResponse>`;
}

function instanceXml(i: Ec2Instance): string {
  const addresses = [
    el('privateIpAddress', i.privateIp) + el('primary', true),
    ...i.secondaryIps.map((ip) => el('privateIpAddress', ip) + el('primary', false)),
  ];
  const eni =
    el('networkInterfaceId', i.networkInterfaceId) +
    el('vpcId', i.vpcId) +
    el('ownerId', OWNER_ID) +
    el('status', 'in-use') +
    el('privateIpAddress', i.privateIp) +
    el('sourceDestCheck', false) +
    `<attachment>${el('attachmentId', `eni-attach-${i.networkInterfaceId.slice(4)}`)}${el('deviceIndex', 0)}${el('status', 'attached')}</attachment>` +
    `<privateIpAddressesSet>${items(addresses)}</privateIpAddressesSet>`;
  return (
    el('instanceId', i.instanceId) +
    el('imageId', 'ami-00000000000000001') +
    `<instanceState>${el('code', instanceStateCode(i.state))}${el('name', i.state)}</instanceState>` +
    el('privateIpAddress', i.privateIp) +
    el('vpcId', i.vpcId) +
    el('sourceDestCheck', false) +
    `<networkInterfaceSet>${items([eni])}</networkInterfaceSet>` +
    tagSet(i.name !== undefined ? { Name: i.name } : {})
  );
}

export function describeInstancesXml(requestId: string, instances: Ec2Instance[]): string {
  // One reservation per instance, as when each controller was launched on its own.
  const reservations = instances.map(
    (i) =>
      el('reservationId', `r-${i.instanceId.slice(2)}`) +
      el('ownerId', OWNER_ID) +
      `<groupSet/><instancesSet>${items([instanceXml(i)])}</instancesSet>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse>${el('requestId', requestId)}<reservationSet>${items(reservations)}</reservationSet></DescribeInstancesResponse>`;
}

export function returnTrueXml(action: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response>${el('requestId', requestId)}<return>true</return></${action}Response>`;
}

export function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${el('Code', code)}${el('Message', message)}</Error></Errors>${el('RequestID', requestId)}</Response>`;
}
