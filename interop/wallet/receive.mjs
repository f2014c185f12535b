// `wallet receive`: redeem a credential offer with the OpenWallet Foundation's
// @openid4vc/openid4vci client (OpenID4VCI 1.0, pre-authorized code flow). Every protocol
// step is the library's: resolving the offer (by value or credential_offer_uri), the
// issuer's and authorization server's metadata, the token request (with the tx_code),
// the nonce request, the `openid4vci-proof+jwt` proof and the credential request. The
// wallet supplies only its key and storage.

import {decodeJwt, decodeProtectedHeader} from 'jose';
import {Openid4vciClient} from '@openid4vc/openid4vci';
import {preAuthorizedCodeGrantIdentifier} from '@openid4vc/oauth2';

import {owfCallbacks} from './callbacks.mjs';
import {step} from './errors.mjs';
import {generateHolderKey} from './keys.mjs';

/** The configuration id to request: the one of `format` (default: the first offered). */
export function chooseConfiguration(offer, issuerMetadata, format) {
  const supported = issuerMetadata.credentialIssuer.credential_configurations_supported;
  const offered = offer.credential_configuration_ids.filter(id => supported[id]);
  const chosen = format ? offered.find(id => supported[id].format === format) : offered[0];
  if(!chosen) {
    const formats = offered.map(id => supported[id].format).join(', ') || 'none';
    throw new Error(`wallet: the offer has no ${format ?? ''} credential configuration ` +
      `the issuer describes (offered formats: ${formats})`);
  }
  return chosen;
}

/** The JwtSigner the libraries put in the proof header: a DID URL `kid`, or a `jwk`. */
export function signerFor(holder) {
  return holder.binding === 'jwk' ?
    {method: 'jwk', publicJwk: holder.publicJwk, alg: holder.alg} :
    {method: 'did', didUrl: holder.kid, alg: holder.alg};
}

export async function receive(offerUri, options, store) {
  const trace = [];
  const holder = await generateHolderKey(options);
  const client = new Openid4vciClient({
    callbacks: owfCallbacks({holderFor: () => holder, trace})
  });

  const offer = await step('offer', () => client.resolveCredentialOffer(offerUri));
  const issuerMetadata = await step('metadata',
    () => client.resolveIssuerMetadata(offer.credential_issuer));
  const configurationId = await step('configuration',
    () => chooseConfiguration(offer, issuerMetadata, options.format));
  const configuration =
    issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId];

  const grant = offer.grants?.[preAuthorizedCodeGrantIdentifier];
  if(!grant) {
    throw new Error('wallet: the offer has no pre-authorized code grant');
  }
  if(grant.tx_code && options.pin === undefined) {
    throw new Error('wallet: the offer asks for a transaction code: pass --pin');
  }
  const {accessTokenResponse} = await step('token',
    () => client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata,
      txCode: grant.tx_code ? options.pin : undefined
    }));

  const requestProof = async () => {
    const {c_nonce: nonce} = await step('nonce', () => client.requestNonce({issuerMetadata}));
    const {jwt} = await step('proof', () => client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId: configurationId,
      signer: signerFor(holder),
      nonce,
      issuedAt: new Date()
    }));
    return jwt;
  };
  const retrieve = proof => client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: {jwt: [proof]}
  });

  const proof = await requestProof();
  const {credentialResponse} = await step('credential', () => retrieve(proof));
  const credentials = credentialResponse.credentials ?? [];
  if(credentials.length === 0) {
    throw new Error('wallet: the credential response holds no credential ' +
      '(deferred issuance is not supported by this wallet)');
  }
  const {credential} = credentials[0];

  store.saveKey(holder);
  const record = {
    format: configuration.format,
    configurationId,
    credentialIssuer: offer.credential_issuer,
    keyId: holder.id,
    credential,
    receivedAt: new Date().toISOString(),
    via: '@openid4vc/openid4vci'
  };
  const stored = store.saveCredential(record);

  const out = {
    ok: true,
    ...record,
    stored,
    holder: {did: holder.did, kid: holder.kid, binding: holder.binding,
      keyType: holder.keyType, publicJwk: holder.publicJwk},
    proof: {header: decodeProtectedHeader(proof), payload: decodeJwt(proof)},
    offer,
    http: trace
  };

  // The same proof again (its nonce already spent): an issuer must refuse it.
  if(options.replayProof) {
    try {
      await retrieve(proof);
      out.replay = {refused: false};
    } catch(error) {
      const body = error.response?.credentialErrorResponseResult?.data;
      out.replay = {refused: true, status: error.response?.response?.status,
        code: body?.error, detail: body ?? String(error.message)};
    }
  }
  return out;
}
