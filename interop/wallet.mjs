#!/usr/bin/env node
// Test wallet: an independent OpenID4VCI / OpenID4VP holder built from other people's
// libraries, so badgeworks' issuance and presentation endpoints are checked against
// implementations it did not write.
//
//   node interop/wallet.mjs receive <offer-uri> --wallet DIR [--format ldp_vc|jwt_vc_json]
//        [--pin N] [--key-type ed25519|p256] [--binding did:key|did:jwk|jwk] [--replay-proof]
//   node interop/wallet.mjs present <openid4vp-uri> --wallet DIR [--format ldp_vc|jwt_vc_json]
//   node interop/wallet.mjs sphereon-receive <offer-uri> --wallet DIR [--format F] [--pin N]
//        [--key-type T] [--binding B]
//   node interop/wallet.mjs list --wallet DIR
//
// receive:          the OpenWallet Foundation's @openid4vc/openid4vci (+ oauth2, utils)
// present:          @openid4vc/openid4vp, the `dcql` library, Digital Bazaar's
//                   Data Integrity (ldp_vp) and panva's jose (jwt_vp_json)
// sphereon-receive: Sphereon's @sphereon/oid4vci-client
//
// Each command prints one JSON object on stdout: {"ok": true, ...} and exit 0, or
// {"ok": false, "step", "error", "code"?, "status"?, "detail"?} and exit 1 (exit 2 for
// a usage error). http:// URLs are allowed for loopback hosts only (the tests serve
// the app on 127.0.0.1); anything else must be https://, as the libraries require.

import {homedir} from 'node:os';
import {join} from 'node:path';
import {parseArgs} from 'node:util';

import {setGlobalConfig} from '@openid4vc/utils';

import {WalletStepError, describeFailure} from './wallet/errors.mjs';
import {BINDINGS, KEY_TYPES} from './wallet/keys.mjs';
import {WalletStore} from './wallet/store.mjs';
import {allLoopback, checkUrl, linkedUrls} from './wallet/urls.mjs';

const USAGE = `usage: wallet.mjs <receive|present|sphereon-receive|list> [uri] --wallet DIR
  [--format ldp_vc|jwt_vc_json] [--pin N] [--key-type ed25519|p256]
  [--binding did:key|did:jwk|jwk] [--replay-proof]`;
const FORMATS = ['ldp_vc', 'jwt_vc_json'];

class UsageError extends Error {}

function parse(argv) {
  const {values, positionals} = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      wallet: {type: 'string', default: join(homedir(), '.badgeworks-test-wallet')},
      format: {type: 'string'},
      pin: {type: 'string'},
      'key-type': {type: 'string', default: 'ed25519'},
      binding: {type: 'string', default: 'did:key'},
      'replay-proof': {type: 'boolean', default: false}
    }
  });
  const [command, uri, ...extra] = positionals;
  if(!command || extra.length) {
    throw new UsageError(USAGE);
  }
  if(command !== 'list' && !uri) {
    throw new UsageError(`${command} needs a link\n${USAGE}`);
  }
  if(values.format && !FORMATS.includes(values.format)) {
    throw new UsageError(`--format is one of ${FORMATS.join(', ')}`);
  }
  if(!KEY_TYPES[values['key-type']]) {
    throw new UsageError(`--key-type is one of ${Object.keys(KEY_TYPES).join(', ')}`);
  }
  if(!BINDINGS.includes(values.binding)) {
    throw new UsageError(`--binding is one of ${BINDINGS.join(', ')}`);
  }
  return {
    command, uri, wallet: values.wallet,
    options: {
      format: values.format, pin: values.pin, keyType: values['key-type'],
      binding: values.binding, replayProof: values['replay-proof']
    }
  };
}

// Each command loads only its own libraries (a Node start per command stays short).
const COMMANDS = {
  receive: async ({uri, options}, store) =>
    (await import('./wallet/receive.mjs')).receive(uri, options, store),
  present: async ({uri, options}, store) =>
    (await import('./wallet/present.mjs')).present(uri, options, store),
  'sphereon-receive': async ({uri, options}, store) =>
    (await import('./wallet/sphereon.mjs')).sphereonReceive(uri, options, store),
  list: async (_args, store) => ({ok: true, credentials: store.credentials()})
};

async function main() {
  let args;
  try {
    args = parse(process.argv.slice(2));
    if(!COMMANDS[args.command]) {
      throw new UsageError(`unknown command ${args.command}\n${USAGE}`);
    }
  } catch(error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  let out;
  try {
    if(args.uri) {
      try {
        linkedUrls(args.uri).forEach(checkUrl);
      } catch(error) {
        throw new WalletStepError('link', error);
      }
      // The libraries' own https check, relaxed only for a link wholly on this machine.
      setGlobalConfig({allowInsecureUrls: allLoopback(args.uri)});
    }
    out = await COMMANDS[args.command](args, new WalletStore(args.wallet));
  } catch(error) {
    out = describeFailure(error);
    if(process.env.WALLET_DEBUG) {
      process.stderr.write(`${error.stack}\n${error.cause?.stack ?? ''}\n`);
    }
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  process.exit(out.ok ? 0 : 1);
}

await main();
