import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** DNS names (wildcards allowed) and IP addresses the certificate is valid for. */
  names: string[];
  /** A client certificate (mutual TLS) instead of a server one. */
  client?: boolean;
  /** Validity in days; default 825, the most browsers accept for a leaf. */
  days?: number;
}

// RSA keys come from OpenSSL (milliseconds) rather than forge's JavaScript generator (seconds);
// forge only builds and signs the certificates.
function newKey(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function baseCertificate(publicKey: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets. DER wants the shortest
  // encoding, so the first octet has its top bit clear (positive) and is not zero (minimal).
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000); // tolerate a minute of clock skew
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  return cert;
}

/** Creates a self-signed certificate authority for signing Wharf's server and client certificates. */
export function createAuthority(commonName = 'Wharf local CA'): KeyPair {
  const { privateKey, publicKey, pem } = newKey();
  const cert = baseCertificate(publicKey, 3650);
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'Wharf' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true, pathLenConstraint: 0 },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: pem };
}

/** Issues a server (or client) certificate signed by `authority`. */
export function issueCertificate(authority: KeyPair, options: IssueOptions): KeyPair {
  if (options.names.length === 0) throw new Error('a certificate needs at least one name');
  const caCert = forge.pki.certificateFromPem(authority.cert);
  const caKey = forge.pki.privateKeyFromPem(authority.key);
  const { privateKey, publicKey, pem } = newKey();
  const cert = baseCertificate(publicKey, options.days ?? 825);
  cert.setSubject([{ name: 'commonName', value: options.names[0].slice(0, 64) }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: !options.client, clientAuth: Boolean(options.client) },
    {
      name: 'subjectAltName',
      altNames: options.names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: pem };
}
