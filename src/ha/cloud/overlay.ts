/**
 * `cloud: overlay`: the controllers live where no cloud route table points at
 * them (a data centre, VMware, or a cloud whose routing is managed
 * elsewhere), so a failover only moves VNS3 routes. Every cloud operation is
 * a harmless no-op, which lets the agent run one code path for all clouds.
 */
import type { CloudRoute, CloudRouteProvider, ControllerRef, InstanceState, RouteChange } from './types.js';

/** The provider for `cloud: overlay`: no cloud API, every operation a no-op. */
export function createOverlayRouteProvider(): CloudRouteProvider {
  return {
    cloud: 'overlay',
    async resolve(privateIp: string): Promise<ControllerRef> {
      return { privateIp };
    },
    async routesTargeting(): Promise<CloudRoute[]> {
      return [];
    },
    async pointRoutesAt(): Promise<RouteChange[]> {
      return [];
    },
    // Without a cloud API there is no independent view of the machine: the witness abstains.
    async instanceState(): Promise<InstanceState> {
      return 'unknown';
    },
  };
}
