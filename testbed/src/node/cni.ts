import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BRIDGE, CLUSTER_RANGE, CNI_NETWORK, NODE_IP, POD_CIDR } from './network.ts';

/**
 * The pod network: a bridge (the node's rotor0) with host-local addresses from
 * the pod CIDR. Pods get a route to the cluster range and no default route, so
 * an address outside it is unreachable from inside the pod already; no masquerade.
 */
export function cniConfList(ipamDataDir: string): object {
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        isDefaultGateway: false,
        ipMasq: false,
        // A pod reaching itself through its Service comes back over the same bridge port.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
          routes: [{ dst: CLUSTER_RANGE, gw: NODE_IP }],
          dataDir: ipamDataDir,
        },
      },
    ],
  };
}

/** Writes the conflist into `confDir`; host-local keeps its leases in `ipamDataDir`. */
export function writeCniConfig(confDir: string, ipamDataDir: string): void {
  mkdirSync(confDir, { recursive: true });
  mkdirSync(ipamDataDir, { recursive: true });
  writeFileSync(join(confDir, `10-${CNI_NETWORK}.conflist`), JSON.stringify(cniConfList(ipamDataDir), null, 2));
}
