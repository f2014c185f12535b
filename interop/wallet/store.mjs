// The test wallet's storage: a directory holding its holder keys and the credentials
// it received, one JSON file each.
//
//   DIR/keys/<jwk thumbprint>.json          a holder key (private JWK, binding, did, kid)
//   DIR/credentials/<n>-<format>.json       {format, credential, configurationId,
//                                            credentialIssuer, keyId, receivedAt, via}

import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

export class WalletStore {
  constructor(dir) {
    this.dir = dir;
    mkdirSync(join(dir, 'keys'), {recursive: true});
    mkdirSync(join(dir, 'credentials'), {recursive: true});
  }

  saveKey(holder) {
    writeFileSync(join(this.dir, 'keys', `${holder.id}.json`), JSON.stringify(holder, null, 2),
      {mode: 0o600});
  }

  key(id) {
    return JSON.parse(readFileSync(join(this.dir, 'keys', `${id}.json`), 'utf8'));
  }

  /** Stores a received credential; returns its path. */
  saveCredential(record) {
    const existing = readdirSync(join(this.dir, 'credentials')).length;
    const name = `${String(existing + 1).padStart(3, '0')}-${record.format}.json`;
    const path = join(this.dir, 'credentials', name);
    writeFileSync(path, JSON.stringify(record, null, 2));
    return path;
  }

  /** Every stored credential record, oldest first, each with its `path`. */
  credentials() {
    const dir = join(this.dir, 'credentials');
    return readdirSync(dir).filter(name => name.endsWith('.json')).sort().map(name => ({
      ...JSON.parse(readFileSync(join(dir, name), 'utf8')),
      path: join(dir, name)
    }));
  }
}
