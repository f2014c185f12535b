// `wallet present`: answer an OpenID4VP 1.0 request with the OpenWallet Foundation's
// @openid4vc/openid4vp client. The library parses the openid4vp:// link, resolves and
// validates the request (client identifier prefix, response_uri, response mode), builds
// the authorization response (with `state`) and posts it (direct_post). The DCQL query
// is matched with the OpenWallet Foundation's `dcql` library. The presentations are
// the wallet's: `ldp_vp` signed with Digital Bazaar's Data Integrity libraries
// (challenge = nonce, domain = client_id; OpenID4VP 1.0 Appendix B.1.3.2) and
// `jwt_vp_json` signed with panva's jose (nonce and aud = client_id; Appendix B.1.3.1).

import {decodeJwt, decodeProtectedHeader} from 'jose';
import {Openid4vpClient} from '@openid4vc/openid4vp';
import {DcqlQuery} from 'dcql';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

import {owfCallbacks} from './callbacks.mjs';
import {step} from './errors.mjs';
import {multikeyPair, signJwt} from './keys.mjs';
import {documentLoader, expandedTypes} from './loader.mjs';
import {checkUrl} from './urls.mjs';

const VC_V1 = 'https://www.w3.org/2018/credentials/v1';

/** The credential object a stored record holds (a JWT's `vc` claim, or its payload). */
export function credentialOf(record) {
  if(record.format === 'jwt_vc_json') {
    const payload = decodeJwt(record.credential);
    return payload.vc ?? payload;
  }
  return record.credential;
}

/** A stored record as the DCQL library's W3C credential input. */
export async function dcqlCredential(record) {
  const credential = credentialOf(record);
  return {
    credential_format: record.format,
    type: await expandedTypes(credential),
    claims: credential,
    cryptographic_holder_binding: true
  };
}

/**
 * The DID the wallet presents as: its key's DID, or for a key bound as a bare `jwk`, the
 * `did:jwk` the issuer named that key by in the credential. Null when neither fits.
 */
export function presentingIdentity(record, holder) {
  if(holder.did) {
    return {did: holder.did, kid: holder.kid};
  }
  const subject = record.format === 'jwt_vc_json' ?
    (decodeJwt(record.credential).sub ?? credentialOf(record).credentialSubject?.id) :
    credentialOf(record).credentialSubject?.id;
  if(typeof subject === 'string' && subject.startsWith('did:jwk:')) {
    const jwk = JSON.parse(Buffer.from(subject.slice('did:jwk:'.length), 'base64url'));
    const mine = holder.publicJwk;
    if(['kty', 'crv', 'x', 'y'].every(k => jwk[k] === mine[k])) {
      return {did: subject, kid: `${subject}#0`};
    }
  }
  return null;
}

/**
 * Whether the wallet can sign a presentation of this credential: a JWT presentation
 * with any key it can name by a DID; a Data Integrity one with an Ed25519 did:key (the
 * key a verifier resolves without fetching).
 */
export function canPresent(record, holder) {
  const identity = presentingIdentity(record, holder);
  if(!identity) {
    return false;
  }
  return record.format !== 'ldp_vc' ||
    (holder.keyType === 'ed25519' && identity.did.startsWith('did:key:'));
}

/**
 * What to present: {queryId: record} for every credential query (no credential_sets), or
 * for each set, its first option whose queries all have a credential the wallet can
 * present (DCQL, OpenID4VP 1.0 §6.1 and §6.2).
 */
export function choosePresentations(query, result, records, holderOf) {
  const presentable = {};
  for(const [id, match] of Object.entries(result.credential_matches)) {
    const found = (match.valid_credentials ?? [])
      .map(valid => records[valid.input_credential_index])
      .find(record => canPresent(record, holderOf(record)));
    if(found) {
      presentable[id] = found;
    }
  }
  const explain = () => Object.entries(result.credential_matches)
    .map(([id, match]) => `${id}: ${match.success ?
      'matches only credentials this wallet cannot sign a presentation for' :
      JSON.stringify(match.failed_credentials ?? match).slice(0, 300)}`).join('; ');
  const chosen = {};
  if(!query.credential_sets) {
    for(const {id} of query.credentials) {
      if(!presentable[id]) {
        throw new Error(`wallet: no stored credential answers the DCQL query (${explain()})`);
      }
      chosen[id] = presentable[id];
    }
    return chosen;
  }
  for(const set of query.credential_sets) {
    const option = set.options.find(ids => ids.every(id => presentable[id]));
    if(option) {
      option.forEach(id => {
        chosen[id] = presentable[id];
      });
    } else if(set.required !== false) {
      throw new Error(`wallet: no stored credential answers the DCQL query (${explain()})`);
    }
  }
  return chosen;
}

/** An `ldp_vp`: a VC 2.0 presentation with an authentication proof (eddsa-rdfc-2022). */
export async function ldpPresentation({record, holder, nonce, clientId}) {
  const keyPair = await multikeyPair(holder);
  const presentation = vc.createPresentation({
    verifiableCredential: [record.credential], holder: holder.did
  });
  const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: eddsaRdfc2022});
  return vc.signPresentation({
    presentation, suite, challenge: nonce, domain: clientId, documentLoader
  });
}

/** A `jwt_vp_json`: a VC Data Model 1.1 JWT presentation (`vp` claim) with nonce and aud. */
export async function jwtPresentation({record, holder, nonce, clientId}) {
  const {did, kid} = presentingIdentity(record, holder);
  const header = {typ: 'JWT', kid};
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: did,
    aud: clientId,
    nonce,
    iat: now,
    nbf: now,
    exp: now + 600,
    jti: `urn:uuid:${crypto.randomUUID()}`,
    vp: {
      '@context': [VC_V1],
      type: ['VerifiablePresentation'],
      holder: did,
      verifiableCredential: [record.credential]
    }
  };
  return signJwt(holder, header, payload);
}

function describePresentation(format, presentation) {
  if(format === 'jwt_vc_json') {
    return {format: 'jwt_vp_json', header: decodeProtectedHeader(presentation),
      payload: decodeJwt(presentation)};
  }
  return {format: 'ldp_vp', proof: presentation.proof};
}

export async function present(requestUri, options, store) {
  const trace = [];
  const holders = new Map();
  const holderOf = record => {
    if(!holders.has(record.keyId)) {
      holders.set(record.keyId, store.key(record.keyId));
    }
    return holders.get(record.keyId);
  };
  const client = new Openid4vpClient({
    callbacks: owfCallbacks({holderFor: () => {
      throw new Error('wallet: this response is not signed');
    }, trace})
  });

  const parsed = await step('parse',
    () => client.parseOpenid4vpAuthorizationRequest({authorizationRequest: requestUri}));
  const resolved = await step('resolve', () => client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params
  }));
  const request = resolved.authorizationRequestPayload;
  await step('resolve', () => checkUrl(request.response_uri));
  if(!resolved.dcql) {
    throw new Error('wallet: the request has no dcql_query (this wallet answers DCQL only)');
  }
  const clientId = request.client_id;
  const nonce = request.nonce;

  const records = store.credentials()
    .filter(record => !options.format || record.format === options.format);
  const query = await step('dcql', () => {
    const q = DcqlQuery.parse(resolved.dcql.query);
    DcqlQuery.validate(q);
    return q;
  });
  const inputs = await step('dcql', () => Promise.all(records.map(dcqlCredential)));
  const result = await step('dcql', () => DcqlQuery.query(query, inputs));
  const chosen = await step('dcql',
    () => choosePresentations(query, result, records, holderOf));

  const vpToken = {};
  const presented = [];
  for(const [id, record] of Object.entries(chosen)) {
    const holder = holderOf(record);
    const args = {record, holder, nonce, clientId};
    const presentation = await step('presentation', () => record.format === 'jwt_vc_json' ?
      jwtPresentation(args) : ldpPresentation(args));
    vpToken[id] = [presentation];
    presented.push({queryId: id, credential: record.path,
      ...describePresentation(record.format, presentation)});
  }

  const {authorizationResponsePayload} = await step('response',
    () => client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: {vp_token: vpToken}
    }));
  const submitted = await step('submit', () => client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload
  }));
  const text = await submitted.response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {}
  const accepted = submitted.response.ok;
  return {
    ok: accepted,
    ...(accepted ? {} : {step: 'submit', status: submitted.response.status,
      code: body?.error, detail: body}),
    request: {
      client_id: clientId, nonce, state: request.state, response_uri: request.response_uri,
      response_mode: request.response_mode, dcql_query: resolved.dcql.query,
      client: resolved.client.prefix, version: resolved.version
    },
    presented,
    vp_token: vpToken,
    response: {status: submitted.response.status, body},
    http: trace
  };
}
