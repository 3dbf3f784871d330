// Test certificates made with openssl at test time, in a temporary directory: a CA, a server
// certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1), a client certificate of that CA,
// and a second, unrelated CA with its own client certificate. Nothing is checked in.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from './temp.js';

const exec = promisify(execFile);

export interface TestCerts {
  dir: string;
  /** PEM of the CA that signed the server and client certificates. */
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** The client certificate's subject, as Kafka's DEFAULT principal mapping writes it. */
  clientDn: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** Key and certificate in one PEM file (the Java client's ssl.keystore.type=PEM keystore). */
  clientKeystoreFile: string;
  /** A client certificate of an unrelated CA. */
  otherCaFile: string;
  otherClientCertFile: string;
  otherClientKeyFile: string;
  /** Another client certificate of the same CA, subject `/CN=<cn>` (principal `User:CN=<cn>`). */
  makeClient(cn: string): Promise<ClientCert>;
  /** Replaces the server certificate and key files with a new pair of this CN, signed by the same CA; returns the new certificate's PEM. */
  rotateServer(cn: string): Promise<string>;
  cleanup(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await exec('openssl', args, { cwd });
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`], dir);
}

/** A key and a certificate of `subj` signed by `ca`; `ext` lines go into the certificate's extensions. */
async function makeSigned(dir: string, name: string, subj: string, ca: string, ext: string): Promise<void> {
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

export interface ClientCert {
  /** The principal's name as Kafka's DEFAULT mapping writes it: CN=<cn>. */
  dn: string;
  certFile: string;
  keyFile: string;
  /** Key and certificate in one PEM file (the Java client's PEM keystore). */
  keystoreFile: string;
}

export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await makeTempDir('rivulet-tls-');
  await makeCa(dir, 'ca', 'Rivulet Test CA');
  await makeSigned(dir, 'server', '/CN=127.0.0.1', 'ca', SERVER_EXT);
  await makeSigned(dir, 'client', '/O=acme/OU=eng/CN=alice', 'ca', CLIENT_EXT);
  await makeCa(dir, 'other-ca', 'Unrelated Test CA');
  await makeSigned(dir, 'other-client', '/CN=mallory', 'other-ca', CLIENT_EXT);
  const keystore = join(dir, 'client-keystore.pem');
  await writeFile(keystore, (await readFile(join(dir, 'client.key'), 'utf8')) + (await readFile(join(dir, 'client.pem'), 'utf8')));
  let rotations = 0;
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    clientDn: 'CN=alice,OU=eng,O=acme',
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    clientKeystoreFile: keystore,
    otherCaFile: join(dir, 'other-ca.pem'),
    otherClientCertFile: join(dir, 'other-client.pem'),
    otherClientKeyFile: join(dir, 'other-client.key'),
    async makeClient(cn: string) {
      const name = `client-${cn.replace(/[^A-Za-z0-9]/g, '_')}`;
      await makeSigned(dir, name, `/CN=${cn}`, 'ca', CLIENT_EXT);
      const keystoreFile = join(dir, `${name}-keystore.pem`);
      await writeFile(keystoreFile, (await readFile(join(dir, `${name}.key`), 'utf8')) + (await readFile(join(dir, `${name}.pem`), 'utf8')));
      return { dn: `CN=${cn}`, certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`), keystoreFile };
    },
    async rotateServer(cn: string) {
      const name = `rotated-${++rotations}`;
      await makeSigned(dir, name, `/CN=${cn}`, 'ca', SERVER_EXT);
      // Key first, then certificate, each replaced at once (rename), as rotation tools do.
      await rename(join(dir, `${name}.key`), join(dir, 'server.key'));
      const pem = await readFile(join(dir, `${name}.pem`), 'utf8');
      await rename(join(dir, `${name}.pem`), join(dir, 'server.pem'));
      return pem;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
