import type { VersionPage } from '../../../core/contracts/metadata.js';
import { parseVersionId } from '../../../core/engine/object-engine.js';
import { s3VersionId } from '../../../core/version-id.js';
import { OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { escapeXml, S3Error } from '../s3-error.js';
import { isoDate, xmlDocument, xmlDocumentPart, type XmlNode } from '../xml/xml-writer.js';
import { listingParams } from './listing.js';

/**
 * ListObjectVersions: keys in S3's order, each key's versions newest first,
 * delete markers among them, `key-marker` + `version-id-marker` paging (also
 * inside one key's versions).
 */
export async function listObjectVersions(call: Call): Promise<S3Response> {
  const { services, bucket, req } = call;
  const q = req.query;
  const info = await services.buckets.get(bucket);
  const { prefix, delimiter, encoding, enc, maxKeys } = listingParams(q);
  const keyMarker = q.get('key-marker') || undefined;
  const rawVersionMarker = q.get('version-id-marker') || undefined;
  if (rawVersionMarker !== undefined && keyMarker === undefined) throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.');
  const versionIdMarker = parseVersionId(rawVersionMarker);

  const page: VersionPage = maxKeys === 0
    ? { entries: [], commonPrefixes: [], isTruncated: false }
    : await services.engine.listVersions({
      bucket, prefix, delimiter, maxKeys: Math.min(maxKeys, 1000),
      ...(keyMarker !== undefined ? { keyMarker } : {}), ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
    });
  // A bucket that never had versioning keeps markers only to stand for deletes: they are no versions to show.
  const entries = info.versioning ? page.entries : page.entries.filter((e) => !e.deleted);

  const ownerXml = xmlDocumentPart([['Owner', OWNER_ELEMENTS]]);
  let entriesXml = '';
  for (const e of entries) {
    const head = `<Key>${escapeXml(enc(e.key))}</Key><VersionId>${s3VersionId(e.versionId)}</VersionId><IsLatest>${e.isLatest}</IsLatest><LastModified>${isoDate(e.modifiedMs)}</LastModified>`;
    entriesXml += e.deleted
      ? `<DeleteMarker>${head}${ownerXml}</DeleteMarker>`
      : `<Version>${head}<ETag>&quot;${e.etag}&quot;</ETag><Size>${e.size}</Size><StorageClass>STANDARD</StorageClass>${ownerXml}</Version>`;
  }
  const next: XmlNode[] = page.isTruncated
    ? [
      ...(page.nextKeyMarker !== undefined ? [['NextKeyMarker', enc(page.nextKeyMarker)] as XmlNode] : []),
      ...(page.nextVersionIdMarker !== undefined ? [['NextVersionIdMarker', s3VersionId(page.nextVersionIdMarker)] as XmlNode] : []),
    ]
    : [];
  return xmlResponse(200, xmlDocument('ListVersionsResult', [
    ['Name', bucket], ['Prefix', enc(prefix)], ['KeyMarker', enc(keyMarker ?? '')], ['VersionIdMarker', rawVersionMarker ?? ''],
    ...next,
    ...(delimiter ? [['Delimiter', enc(delimiter)] as XmlNode] : []),
    ['MaxKeys', maxKeys],
    ...(encoding ? [['EncodingType', encoding] as XmlNode] : []),
    ['IsTruncated', page.isTruncated],
    { raw: entriesXml },
    ...page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', enc(p)]]]),
  ]));
}
