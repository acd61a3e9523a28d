import type { KintsugiConfig } from '../../core/config.js';
import { BucketStore } from '../../core/engine/buckets.js';
import { BucketUsage } from '../../core/engine/bucket-usage.js';
import { Healer } from '../../core/engine/healer.js';
import { Rebalancer } from '../../core/engine/rebalancer.js';
import { LifecycleWorker } from '../../core/engine/lifecycle.js';
import { MultipartUploads } from '../../core/engine/multipart.js';
import { ObjectEngine } from '../../core/engine/object-engine.js';
import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { H3Transport } from './h3-transport.js';
import { ConsoleGateway } from './console/console-gateway.js';
import { ConsoleSessions } from './console/session.js';
import { Operations } from './operations.js';
import { S3Api, type Credentials } from './s3-api.js';

/** The users: ACCESS_KEY / SECRET_KEY, and any more from USERS. */
export function credentialsFrom(config: KintsugiConfig): Credentials {
  const users = new Map(Object.entries({ ...config.users, [config.accessKey]: config.secretKey }));
  return { secretFor: (key) => users.get(key) };
}

/** Transport plugin: the S3 API over HTTP, served by h3. */
export const h3TransportPlugin: Plugin = {
  contract: 'transport',
  names: ['h3'],
  register(container, config) {
    container.register(TOKENS.Transport, {
      useFactory: (c) => {
        const credentials = credentialsFrom(config);
        const engine = c.resolve(ObjectEngine);
        return new H3Transport(
          new S3Api({ engine, buckets: c.resolve(BucketStore), uploads: c.resolve(MultipartUploads), lifecycleDayMs: config.lifecycleDayS * 1000, crc: c.resolve(TOKENS.Crc), usage: c.resolve(BucketUsage) }, credentials),
          new Operations(engine, c.resolve(Healer), c.resolve(LifecycleWorker), c.resolve(Rebalancer), c.resolve(TOKENS.Layout), c.resolve(TOKENS.Nodes), c.resolve(TOKENS.Codec), c.resolve(BucketStore), c.resolve(BucketUsage), c.resolve(TOKENS.Metrics), credentials, config.metricsToken),
          c.resolve(TOKENS.Logger),
          config.domain ? { domain: config.domain } : {},
          new ConsoleGateway(new ConsoleSessions(credentials)),
        );
      },
    });
  },
};

export { H3Transport } from './h3-transport.js';
export { S3Api } from './s3-api.js';
