// One shape for a failed wallet step: {ok: false, step, error, code?, status?, detail?}.
// `code` is the server's OAuth / OpenID4VC error code when it sent one (invalid_grant,
// invalid_proof, invalid_nonce, ...), so a test can assert what was refused and why.

export class WalletStepError extends Error {
  constructor(step, cause) {
    super(cause?.message ?? String(cause));
    this.step = step;
    this.cause = cause;
  }
}

/** Runs one named step; a failure becomes a WalletStepError naming it. */
export async function step(name, fn) {
  try {
    return await fn();
  } catch(error) {
    if(error instanceof WalletStepError) {
      throw error;
    }
    throw new WalletStepError(name, error);
  }
}

function serverError(error) {
  // Oauth2ClientErrorResponseError / Oauth2ServerErrorResponseError: the error body.
  if(error?.errorResponse && typeof error.errorResponse === 'object') {
    return {body: error.errorResponse, status: error.response?.status ?? error.status};
  }
  // Openid4vciRetrieveCredentialsError: the credential endpoint's answer.
  const r = error?.response;
  if(r && typeof r === 'object' && ('credentialErrorResponseResult' in r ||
    'credentialResponseResult' in r)) {
    return {
      body: r.credentialErrorResponseResult?.data ?? r.credentialResponseResult?.data,
      status: r.response?.status
    };
  }
  // InvalidFetchResponseError: the raw text.
  if(typeof error?.textResponse === 'string') {
    let body = error.textResponse;
    try {
      body = JSON.parse(body);
    } catch {}
    return {body, status: error.response?.status};
  }
  return {};
}

/** The JSON a failed command prints. */
export function describeFailure(error) {
  const stepName = error instanceof WalletStepError ? error.step : 'wallet';
  const cause = error instanceof WalletStepError ? error.cause : error;
  const {body, status} = serverError(cause);
  const out = {ok: false, step: stepName, error: String(cause?.message ?? cause)};
  if(status !== undefined) {
    out.status = status;
  }
  if(body !== undefined) {
    out.detail = body;
    if(body && typeof body === 'object' && typeof body.error === 'string') {
      out.code = body.error;
    }
  }
  return out;
}
