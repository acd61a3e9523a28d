import type { Plugin } from '../core/plugins.js';
import { jerasureCodecPlugin } from '../plugins/codec-jerasure/index.js';
import { localDrivePlugin } from '../plugins/drive-local/index.js';
import { remoteDrivePlugin } from '../plugins/drive-remote/index.js';
import { msgpackMetadataPlugin } from '../plugins/metadata-msgpack/index.js';
import { hashPlacementPlugin } from '../plugins/placement-hash/index.js';
import { ringPlacementPlugin } from '../plugins/placement-ring/index.js';
import { h3TransportPlugin } from '../plugins/transport-h3/index.js';

/** Every plugin this build ships; configuration picks among them. */
export const PLUGINS: readonly Plugin[] = [jerasureCodecPlugin, hashPlacementPlugin, ringPlacementPlugin, localDrivePlugin, remoteDrivePlugin, msgpackMetadataPlugin, h3TransportPlugin];
