// Errors of the client toolkit, and the translation of @platformatic/kafka's errors into
// one message a person can act on. Nothing here imports the library: it inspects error
// objects by shape, so loading it costs nothing.

/** Stable codes of the errors this toolkit throws. */
export const ClientErrorCode = {
  /** Something the caller must change (a malformed bootstrap list, ...). */
  invalidArgument: 'RIV_ERR_CLIENT_INVALID_ARGUMENT',
  unknownTopic: 'RIV_ERR_CLIENT_UNKNOWN_TOPIC',
  /** The offsets being read are outside the log (retention, truncation). */
  offsetOutOfRange: 'RIV_ERR_CLIENT_OFFSET_OUT_OF_RANGE',
  /** A partition has no leader (retried while metadata catches up; reported when retries run out). */
  noLeader: 'RIV_ERR_NO_LEADER',
  /** The cluster answered, but not what the protocol promises. */
  unexpectedAnswer: 'RIV_ERR_CLIENT_UNEXPECTED_ANSWER',
  /** Another instance took over (transactional id, group member): abort, then rebuild from committed state. */
  fenced: 'RIV_ERR_CLIENT_FENCED',
  /** The cluster lacks a protocol feature this client needs (KIP-848 consumer groups, ...). */
  unsupported: 'RIV_ERR_CLIENT_UNSUPPORTED',
  /** An internal topic exists but does not have the shape the pipeline needs. */
  topicMismatch: 'RIV_ERR_CLIENT_TOPIC_MISMATCH',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** An error meant for people: its message is shown as is; `code` is stable (a ClientErrorCode, or an interface's own). */
export class ClientError extends Error {
  readonly code: string;
  constructor(message: string, opts: { code: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code;
  }
}

/** The topic does not exist on the cluster. */
export class UnknownTopicError extends ClientError {
  constructor(readonly topic: string, cause?: unknown) {
    super(`topic "${topic}" does not exist.`, { code: ClientErrorCode.unknownTopic, cause });
  }
}

/** Kafka error names that mean this producer or group member was replaced by a newer one. */
export const FENCING_ERRORS = ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'FENCED_MEMBER_EPOCH', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'STALE_MEMBER_EPOCH', 'FENCED_INSTANCE_ID'];

/**
 * This producer or group member is a zombie: a newer instance owns its transactional id, or
 * the group moved on without it. Nothing it sends can commit: abort the transaction, drop
 * uncommitted state and rebuild the tasks from what is committed.
 */
export class FencedError extends ClientError {
  /** The Kafka error name (PRODUCER_FENCED, FENCED_MEMBER_EPOCH, ...). */
  readonly reason: string;
  constructor(reason: string, what: string, cause?: unknown) {
    super(`${what} was fenced (${reason}): a newer instance or group generation took over. Abort the transaction and rebuild the affected tasks from committed state.`, { code: ClientErrorCode.fenced, cause });
    this.reason = reason;
  }
}

/** The FencedError inside a library error, if any error in it is a fencing error. */
export function asFenced(e: unknown, what: string): FencedError | undefined {
  if (e instanceof FencedError) return e;
  const x = findProtocolError(e, ...FENCING_ERRORS);
  return x ? new FencedError(x.apiId!, what, e) : undefined;
}

interface LibError extends Error {
  code?: string;
  errors?: unknown[];
  apiId?: string;
  apiCode?: number;
  serverErrorMessage?: string | null;
  path?: string;
  cause?: unknown;
}

/** The innermost errors of a library error (MultipleErrors nest; causes chain). */
export function leafErrors(e: unknown): LibError[] {
  const out: LibError[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (!(x instanceof Error) || depth > 8) return;
    const le = x as LibError;
    if (Array.isArray(le.errors) && le.errors.length > 0) {
      for (const c of le.errors) walk(c, depth + 1);
      return;
    }
    out.push(le);
  };
  walk(e, 0);
  return out;
}

/** The first Kafka protocol error (by name, e.g. TOPIC_ALREADY_EXISTS) inside a library error. */
export function findProtocolError(e: unknown, ...ids: string[]): LibError | undefined {
  return leafErrors(e).find((x) => x.apiId !== undefined && (ids.length === 0 || ids.includes(x.apiId)));
}

/** True when the error says the topic does not exist (metadata lookup or a broker error code). */
export function isUnknownTopic(e: unknown): boolean {
  return leafErrors(e).some((x) => /^Unknown topic /.test(x.message) || x.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' || x.apiId === 'UNKNOWN_TOPIC_ID');
}

function describeProtocolError(x: LibError): string {
  const detail = x.serverErrorMessage && x.serverErrorMessage !== x.message ? `: ${x.serverErrorMessage}` : '';
  return `${x.apiId} (${x.message.replace(/\.$/, '')})${detail}`;
}

/** API names as the library spells them, mapped to what the caller was doing. */
const apiPurpose: Record<string, string> = {
  CreateTopics: 'creating topics',
  DeleteTopics: 'deleting topics',
  CreatePartitions: 'adding partitions',
  DescribeConfigs: 'reading topic configs',
  IncrementalAlterConfigs: 'changing topic configs',
  AlterConfigs: 'changing topic configs',
  ListOffsets: 'reading offsets',
  Fetch: 'reading records',
  Produce: 'writing records',
  InitProducerId: 'idempotent producing',
  JoinGroup: 'consumer groups',
  FindCoordinator: 'consumer groups and transactions',
  ListTransactions: 'listing transactions',
  DescribeTransactions: 'describing transactions',
  DescribeProducers: 'describing producers',
};

/** Advice the caller's interface adds to some explanations (a command line names its flags). */
export interface ExplainHints {
  /** Appended when nothing answered, e.g. "Check --bootstrap-server or RIVULET_BOOTSTRAP." */
  unreachable?: string;
  /** How to list the topics, e.g. "rivulet topic list"; named when a topic does not exist. */
  listTopics?: string;
  /** The connection's security, e.g. "SASL_SSL, SCRAM-SHA-512 as alice"; named in TLS and SASL failures. */
  security?: string;
  /** Whether the connection offered a client certificate (tells a refused certificate from a missing one). */
  clientCertificate?: boolean;
  /** Appended to TLS failures, e.g. "Check --tls-ca." */
  tls?: string;
  /** Appended to SASL failures, e.g. "Check --sasl-username and the password." */
  sasl?: string;
  /** Appended to authorization failures, e.g. "An administrator can grant it: rivulet acl add ...". */
  authorization?: string;
}

/** Every error of a library error: nested MultipleErrors and each `cause` along the way. */
export function allErrors(e: unknown): LibError[] {
  const out: LibError[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (!(x instanceof Error) || depth > 12) return;
    const le = x as LibError;
    out.push(le);
    if (Array.isArray(le.errors)) for (const c of le.errors) walk(c, depth + 1);
    if (le.cause !== undefined) walk(le.cause, depth + 1);
  };
  walk(e, 0);
  return out;
}

/** OpenSSL's and Node's codes of a broker certificate the client did not accept. */
const CERT_REJECTED = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REVOKED|CERT_SIGNATURE_FAILURE|INVALID_CA|UNABLE_TO_DECRYPT_CERT_SIGNATURE)$/;

/**
 * TLS, SASL and authorization failures, explained with what to check; undefined when the
 * error is none of those.
 */
export function explainSecurityError(e: unknown, bootstrap: string, hints: ExplainHints = {}): string | undefined {
  const all = allErrors(e);
  const as = hints.security ? ` (connecting with ${hints.security})` : '';
  const tlsHint = hints.tls ? ` ${hints.tls}` : '';
  const saslHint = hints.sasl ? ` ${hints.sasl}` : '';
  const codes = all.map((x) => x.code ?? '');
  const text = all.map((x) => x.message).join(' | ');
  if (all.some((x) => x.code === 'ERR_OSSL_BAD_DECRYPT' || /bad decrypt/i.test(x.message))) {
    return `TLS: the client's private key could not be decrypted with the password given: check the key password (ssl.key.password).${tlsHint}`;
  }
  const cert = all.find((x) => x.code !== undefined && CERT_REJECTED.test(x.code));
  if (cert) {
    return `TLS: the broker's certificate at ${bootstrap} was not accepted${as}: ${cert.message} (${cert.code}). The CA file must hold the CA that signed the broker's certificate.${tlsHint}`;
  }
  const altname = all.find((x) => x.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
  if (altname) {
    return `TLS: the broker's certificate does not name the host connected to${as}: ${altname.message}. Connect with a name the certificate lists, or name it with the TLS server name option.${tlsHint}`;
  }
  if (codes.some((c) => /ALERT_CERTIFICATE_REQUIRED/.test(c)) || /certificate required/i.test(text)) {
    return `TLS: the broker at ${bootstrap} requires a client certificate (mutual TLS)${as}: give a client certificate and its key.${tlsHint}`;
  }
  if (codes.some((c) => /ALERT_HANDSHAKE_FAILURE/.test(c))) {
    return `TLS handshake refused by ${bootstrap} (alert handshake_failure)${as}: either the port is not a TLS listener (a Rivulet PLAINTEXT or SASL_PLAINTEXT listener answers TLS with this alert: use that security protocol or the SSL listener's port), or the listener requires a client certificate, or TLS versions and ciphers this client does not offer.${tlsHint}`;
  }
  if (codes.some((c) => /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR|ACCESS_DENIED)/.test(c))) {
    return `TLS: the broker at ${bootstrap} did not accept the client certificate${as} (${codes.find((c) => /ALERT_/.test(c))}): it must be signed by a CA the broker trusts (its ssl.truststore.location).${tlsHint}`;
  }
  if (codes.some((c) => /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL/.test(c)) || /wrong version number|packet length too long/i.test(text)) {
    return `TLS handshake failed: ${bootstrap} does not speak TLS${as}. Is it a PLAINTEXT or SASL_PLAINTEXT listener? Use that security protocol, or the port of the broker's SSL listener.${tlsHint}`;
  }
  if (all.some((x) => x.message === 'TLS handshake failed. Please verify the broker supports TLS.')) {
    return `TLS handshake failed: ${bootstrap} closed the connection during the handshake${as}. Check that the port is an SSL or SASL_SSL listener, and whether it requires a client certificate.${tlsHint}`;
  }
  const sasl = all.find((x) => x.apiId === 'SASL_AUTHENTICATION_FAILED');
  if (sasl || all.some((x) => x.code === 'PLT_KFK_AUTHENTICATION' && x.message === 'SASL authentication failed.')) {
    const detail = sasl?.serverErrorMessage ? `: ${sasl.serverErrorMessage}` : '';
    return `SASL authentication failed (SASL_AUTHENTICATION_FAILED)${as}${detail}. Check the username, the password and the mechanism: the user needs credentials for that mechanism on the cluster.${saslHint}`;
  }
  const mech = all.find((x) => x.apiId === 'UNSUPPORTED_SASL_MECHANISM');
  if (mech) {
    const detail = mech.serverErrorMessage ? `: ${mech.serverErrorMessage}` : '';
    return `the broker at ${bootstrap} does not offer this SASL mechanism on this listener${as}${detail}. Use a mechanism the listener enables (sasl.enabled.mechanisms on the broker); a listener without SASL (PLAINTEXT, SSL) offers none, so use that security protocol instead.${saslHint}`;
  }
  const illegal = all.find((x) => x.apiId === 'ILLEGAL_SASL_STATE');
  if (illegal || all.some((x) => x.code === 'PLT_KFK_AUTHENTICATION')) {
    return `SASL handshake failed at ${bootstrap}${as}: ${(illegal ?? all.find((x) => x.code === 'PLT_KFK_AUTHENTICATION'))!.message.replace(/\.$/, '')}. Is the port a SASL_PLAINTEXT or SASL_SSL listener? Without SASL, use PLAINTEXT or SSL.${saslHint}`;
  }
  const denied = all.find((x) => x.apiId !== undefined && /_AUTHORIZATION_FAILED$/.test(x.apiId));
  if (denied) {
    const what = denied.apiId!.replace(/_AUTHORIZATION_FAILED$/, '').toLowerCase().replace(/_/g, ' ');
    const detail = denied.serverErrorMessage ? `: ${denied.serverErrorMessage}` : '';
    return `not authorized (${denied.apiId})${as}${detail}: the principal has no ACL allowing this on the ${what}.${hints.authorization ? ` ${hints.authorization}` : ''}`;
  }
  const closedEarly = all.some((x) => /Connection closed/i.test(x.message) || x.code === 'ECONNRESET');
  if (closedEarly && hints.security !== undefined) {
    if (!/SSL/.test(hints.security)) {
      return `the broker at ${bootstrap} closed the connection before answering${as}. If that port is an SSL or SASL_SSL listener, connect with TLS (security protocol SSL or SASL_SSL); if it expects SASL, give a SASL mechanism and credentials.${tlsHint}`;
    }
    // TLS 1.3 reports a refused client certificate only after the handshake: the request sees a closed connection.
    return hints.clientCertificate
      ? `the broker at ${bootstrap} closed the TLS connection before answering${as}: it most likely did not accept the client certificate. It must be signed by a CA the broker trusts (its ssl.truststore.location), and be valid now.${tlsHint}`
      : `the broker at ${bootstrap} closed the TLS connection before answering${as}: it most likely requires a client certificate (ssl.client.auth=required): give a client certificate and its key.${tlsHint}`;
  }
  return undefined;
}

function unknownTopicMessage(name: string | undefined, hints: ExplainHints): string {
  return `topic "${name}" does not exist${hints.listTopics ? ` (list topics with: ${hints.listTopics})` : ''}.`;
}

/**
 * Turns any error into one message for people. `bootstrap` is named when nothing answered,
 * so the reader sees which address was tried.
 */
export function explainError(e: unknown, bootstrap: string, hints: ExplainHints = {}): string {
  if (e instanceof UnknownTopicError) return unknownTopicMessage(e.topic, hints);
  if (e instanceof ClientError) return e.message;
  const security = explainSecurityError(e, bootstrap, hints);
  if (security !== undefined) return security;
  const leaves = leafErrors(e);
  const network = leaves.filter((x) => x.code === 'PLT_KFK_NETWORK' || /^Connection to .* (failed|timed out)/.test(x.message));
  if (network.length > 0 && network.length === leaves.length) {
    const causes = [...new Set(network.map((x) => (x.cause instanceof Error ? x.cause.message : x.message)))];
    return `cannot reach the Kafka cluster: nothing answered at ${bootstrap} (${causes.join('; ')}). Is the broker running?${hints.unreachable ? ` ${hints.unreachable}` : ''}`;
  }
  for (const x of leaves) {
    const m = /^Unsupported API (\w+)\.$|^No usable implementation found for API (\w+)\.$/.exec(x.message);
    if (m) {
      const api = m[1] ?? m[2]!;
      const purpose = apiPurpose[api] ? ` (needed for ${apiPurpose[api]})` : '';
      return m[1]
        ? `the cluster at ${bootstrap} does not support the Kafka ${api} API${purpose}.`
        : `the cluster at ${bootstrap} offers the Kafka ${api} API only in versions this client cannot speak${purpose}.`;
    }
  }
  const unknownTopic = leaves.find((x) => /^Unknown topic (.*)\.$/.test(x.message));
  if (unknownTopic) return unknownTopicMessage(/^Unknown topic (.*)\.$/.exec(unknownTopic.message)![1], hints);
  const protocol = leaves.filter((x) => x.apiId !== undefined);
  if (protocol.length > 0) {
    return `the broker answered with an error: ${[...new Set(protocol.map(describeProtocolError))].join('; ')}`;
  }
  const timeouts = leaves.filter((x) => x.code === 'PLT_KFK_TIMEOUT' || /timed out/i.test(x.message));
  if (timeouts.length > 0) return `request to ${bootstrap} timed out: ${timeouts[0]!.message}`;
  const messages = [...new Set(leaves.map((x) => x.message))];
  const top = e instanceof Error ? e.message : String(e);
  return messages.length > 0 && !messages.includes(top) ? `${top} ${messages.join('; ')}` : top;
}
