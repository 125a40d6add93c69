/**
 * How EC2 shapes route tables and instances, read and written in the
 * provider-neutral terms of `provider.ts`. Pure: no SDK calls here.
 */
import type { Route } from '@aws-sdk/client-ec2';
import type { ControllerRef, InstanceState } from './types.js';

/** Instance states from AWS mapped onto the provider-neutral ones. */
export const STATES: Record<string, InstanceState> = {
  pending: 'pending',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  // Terminating is one-way: for failover the instance is as good as gone.
  'shutting-down': 'terminated',
  terminated: 'terminated',
};

/** Terminated instances are left out: their private IP may already belong to a new controller. */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

export function routeDestination(r: Route): string | undefined {
  return r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId;
}

/** Whatever the route points at, for `from` in a change report. */
export function routeTargetId(r: Route): string {
  return (
    r.NetworkInterfaceId ??
    r.InstanceId ??
    r.GatewayId ??
    r.NatGatewayId ??
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.EgressOnlyInternetGatewayId ??
    'none'
  );
}

/** The ENI or the instance: a route may name the controller either way. */
export function targets(r: Route, who: ControllerRef): boolean {
  return (
    (who.networkInterfaceId !== undefined && r.NetworkInterfaceId === who.networkInterfaceId) ||
    (who.instanceId !== undefined && r.InstanceId === who.instanceId)
  );
}

/** The request field EC2 wants for this kind of destination (prefix list, IPv6 or IPv4). */
export function destinationParam(destination: string): Record<string, string> {
  if (destination.startsWith('pl-')) return { DestinationPrefixListId: destination };
  if (destination.includes(':')) return { DestinationIpv6CidrBlock: destination };
  return { DestinationCidrBlock: destination };
}

export function tagName(tags: { Key?: string; Value?: string }[] | undefined): string | undefined {
  return tags?.find((t) => t.Key === 'Name')?.Value;
}
