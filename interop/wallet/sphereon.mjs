// `wallet sphereon-receive`: redeem a credential offer with Sphereon's
// @sphereon/oid4vci-client (OpenID4VCI draft 15, whose offer, token, nonce and
// credential request are those of 1.0 for the pre-authorized code flow): a second
// client, written independently of the OpenWallet Foundation's, against the same
// endpoints. The wallet supplies only the key and the JWT signer callback.

import {decodeJwt, decodeProtectedHeader} from 'jose';
import {OpenID4VCIClientV1_0_15} from '@sphereon/oid4vci-client';

import {step} from './errors.mjs';
import {generateHolderKey, signJwt} from './keys.mjs';

export async function sphereonReceive(offerUri, options, store) {
  const holder = await generateHolderKey(options);
  const proofs = [];
  const signCallback = async ({header, payload}) => {
    const jwt = await signJwt(holder, header, payload);
    proofs.push(jwt);
    return jwt;
  };

  const client = await step('offer', () => OpenID4VCIClientV1_0_15.fromURI({
    uri: offerUri,
    retrieveServerMetadata: true,
    ...(holder.kid ? {kid: holder.kid} : {}),
    alg: holder.alg
  }));
  const issuerMetadata = client.endpointMetadata.credentialIssuerMetadata;
  const supported = issuerMetadata.credential_configurations_supported;
  const offered = client.credentialOffer.credential_offer.credential_configuration_ids;
  const configurationId = offered.find(
    id => !options.format || supported[id]?.format === options.format);
  if(!configurationId) {
    throw new Error(`wallet: the offer has no ${options.format} credential configuration`);
  }
  const configuration = supported[configurationId];

  if(client.credentialOffer.userPinRequired && options.pin === undefined) {
    throw new Error('wallet: the offer asks for a transaction code: pass --pin');
  }
  await step('token', () => client.acquireAccessToken(
    options.pin === undefined ? {} : {pin: options.pin}));
  const response = await step('credential', () => client.acquireCredentials({
    credentialConfigurationId: configurationId,
    credentialTypes: configuration.credential_definition?.type,
    format: configuration.format,
    proofCallbacks: {signCallback},
    alg: holder.alg,
    ...(holder.kid ? {kid: holder.kid} : {jwk: holder.publicJwk})
  }));
  const credential = response.credentials?.[0]?.credential ?? response.credential;
  if(credential === undefined) {
    throw new Error(`wallet: Sphereon's client returned no credential: ` +
      JSON.stringify(response).slice(0, 500));
  }

  store.saveKey(holder);
  const record = {
    format: configuration.format,
    configurationId,
    credentialIssuer: client.getIssuer(),
    keyId: holder.id,
    credential,
    receivedAt: new Date().toISOString(),
    via: '@sphereon/oid4vci-client'
  };
  const stored = store.saveCredential(record);
  const proof = proofs.at(-1);
  return {
    ok: true,
    ...record,
    stored,
    holder: {did: holder.did, kid: holder.kid, binding: holder.binding,
      keyType: holder.keyType, publicJwk: holder.publicJwk},
    proof: proof && {header: decodeProtectedHeader(proof), payload: decodeJwt(proof)},
    version: client.version()
  };
}
