import { createHash } from 'node:crypto';
import type { LicenseParams, SimController } from '../controller.js';
import { MESSAGES, SimApiError, badRequest } from '../errors.js';
import { verifyLicense } from '../license.js';
import { type OperationTable, isoOf, nowS } from './types.js';

const CAPABILITIES = ['IPsec', 'SSL/TLS', 'Overlay', 'Peering', 'Plugins', 'BGP'];
const DEFAULT_OVERLAY_SUBNET = '100.127.255.192/26';

function topologyOf(ctl: SimController, params?: LicenseParams): Record<string, unknown> {
  const terms = ctl.license.terms;
  const controllers = terms?.controllers ?? 0;
  return {
    overlay_subnet: params?.subnet ?? DEFAULT_OVERLAY_SUBNET,
    total_clients: terms?.clients ?? 0,
    overlay_max_clients: terms?.clients ?? 0,
    ipsec_max_subnets: 64,
    ipsec_max_endpoints: 32,
    license_upgrades: [],
    managers: Array.from({ length: controllers }, (_, i) => ({ manager_id: i + 1, asn: 65000 + i + 1 })),
    clients: [],
  };
}

function licenseDetail(ctl: SimController): Record<string, unknown> {
  return {
    capabilities: CAPABILITIES,
    finalized: ctl.license.finalized,
    license_present: ctl.license.terms !== undefined,
    sha1_checksum: ctl.license.sha1 ?? '',
    uploaded_at: isoOf(ctl.license.uploadedAtS ?? 0),
    uploaded_at_i: ctl.license.uploadedAtS ?? 0,
    custom_addressing: ctl.license.params !== undefined && ctl.license.params.subnet !== DEFAULT_OVERLAY_SUBNET,
    my_manager_vip: ctl.license.params?.myManagerVip ?? '',
    license: ctl.license.terms ? `${ctl.license.terms.topology} (${ctl.license.terms.controllers} controllers)` : '',
    topology: topologyOf(ctl, ctl.license.params),
  };
}

const splitList = (value: string | undefined): string[] =>
  (value ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

export const licenseOperations: OperationTable = {
  'GET /license': ({ ctl }) => {
    if (!ctl.license.terms) throw new SimApiError(403, MESSAGES.mustBeLicensed, 'PrerequisiteError');
    return licenseDetail(ctl);
  },

  'PUT /license': ({ ctl, body }) => {
    if (ctl.license.finalized) throw badRequest(MESSAGES.licenseAlreadyAccepted);
    const terms = typeof body === 'string' ? verifyLicense(body) : undefined;
    if (!terms) throw new SimApiError(400, MESSAGES.licenseInvalid, 'APIArgumentError');
    ctl.license = {
      terms,
      finalized: false,
      uploadedAtS: nowS(),
      sha1: createHash('sha1').update(String(body)).digest('hex'),
    };
    return {
      capabilities: CAPABILITIES,
      finalized: false,
      license_present: true,
      license: `${terms.topology} (${terms.controllers} controllers)`,
      default_topology: topologyOf(ctl),
    };
  },

  'PUT /license/parameters': ({ ctl, body }) => {
    if (ctl.license.finalized) throw badRequest(MESSAGES.licenseAlreadyAccepted);
    const terms = ctl.license.terms;
    if (!terms) throw badRequest(MESSAGES.licenseNotUploaded);
    const b = body as { default?: boolean; subnet?: string; managers?: string; asns?: string; clients?: string; my_manager_vip?: string };
    const explicit = b.subnet !== undefined || b.managers !== undefined || b.asns !== undefined || b.clients !== undefined;
    if (!b.default && !explicit) throw badRequest('Either default or explicit license parameters are required.');
    const controllers = Array.from({ length: terms.controllers }, (_, i) => String(i + 1));
    const asns = b.asns !== undefined ? splitList(b.asns).map(Number) : controllers.map((_, i) => 65000 + i + 1);
    if (asns.some((a) => !Number.isInteger(a) || a < 1 || a > 4294967295)) throw badRequest('invalid asns field');
    if (b.asns !== undefined && asns.length !== terms.controllers) throw badRequest('invalid asns field');
    const managers = b.managers !== undefined ? splitList(b.managers) : [];
    if (b.managers !== undefined && managers.length !== terms.controllers) throw badRequest('invalid managers field');
    const params: LicenseParams = {
      subnet: b.subnet ?? DEFAULT_OVERLAY_SUBNET,
      managers,
      asns,
      clients: splitList(b.clients),
      controllers,
      myManagerVip: b.my_manager_vip ?? '',
    };
    ctl.license = { ...ctl.license, finalized: true, params };
    // Accepting the license is irreversible and reboots the controller once this reply is out.
    ctl.rebootAfterReply = true;
    return {
      license: `${terms.topology} (${terms.controllers} controllers)`,
      finalized: true,
      parameters: {
        subnet: params.subnet,
        controllers,
        managers: params.managers,
        clients: params.clients,
        asns: params.asns,
        my_manager_vip: params.myManagerVip,
      },
    };
  },
};
