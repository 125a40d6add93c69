/** An answer in the controller's error envelope: `{"error": {"name", "message"}}` with an HTTP status. */
export class SimApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorName = status === 404 ? 'NotFound' : status === 401 ? 'Unauthorized' : 'BadRequest',
  ) {
    super(message);
  }
}

/** The exact strings existing VNS3 automation compares (VNS3_BEHAVIOUR.md). */
export const MESSAGES = {
  mustBeLicensed: 'Must be licensed first.',
  keysetMustBeLicensed: 'Controller must be licensed before keyset operations.',
  keysetInProgress: 'Keyset setup in progress.',
  keysetExists: 'Keyset already exists.',
  // Our choices where the reference is silent (documented in the simulator README section).
  licenseAlreadyAccepted: 'License already accepted.',
  licenseInvalid: 'Invalid license file.',
  licenseNotUploaded: 'Must upload license first.',
  keysetRequiredForPeering: 'Keyset must be present before peering.',
  authFailed: 'Authentication failed.',
} as const;

export const badRequest = (message: string): SimApiError => new SimApiError(400, message);
export const notFound = (message: string): SimApiError => new SimApiError(404, message, 'NotFound');
