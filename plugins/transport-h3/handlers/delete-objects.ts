import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { parseRequestXml, readSmallBody } from '../xml/xml-reader.js';
import { S3Error, toS3Error } from '../s3-error.js';
import { xmlDocument, type XmlNode } from '../xml/xml-writer.js';
import { parseVersionId } from '../../../core/engine/object-engine.js';
import { deleteLockOptions } from '../object-lock-headers.js';
import { inSosapi, sosapiReadOnly } from './sosapi.js';
import { deleteAnswer } from '../versions.js';

/** DeleteObjects: up to 1000 keys, each answered as deleted or with its error; Quiet leaves out the deleted. */
export async function deleteObjects(call: Call): Promise<S3Response> {
  const { req, bucket, services } = call;
  const info = await services.buckets.get(bucket);
  const del = parseRequestXml(await readSmallBody(requestBody(call).body), 'Delete').only(['Object', 'Quiet']);
  const quietText = del.textOf('Quiet');
  if (quietText !== undefined && quietText !== 'true' && quietText !== 'false') throw new S3Error('MalformedXML', 'Quiet must be true or false');
  const quiet = quietText === 'true';
  // Every object is read before any is deleted: a bad entry anywhere deletes nothing.
  const targets = del.all('Object').map((o) => {
    // AWS's conditional deletes (ETag, LastModifiedTime, Size) must never be carried out unconditionally.
    const condition = o.children.find((c) => c.name === 'ETag' || c.name === 'LastModifiedTime' || c.name === 'Size');
    if (condition) throw new S3Error('NotImplemented', `DeleteObjects with a ${condition.name} condition is not implemented`);
    o.only(['Key', 'VersionId']);
    const key = o.textOf('Key');
    if (key === undefined) throw new S3Error('MalformedXML', 'Object without Key');
    return { key, versionId: o.textOf('VersionId') };
  });
  if (targets.length === 0 || targets.length > 1000) throw new S3Error('MalformedXML', 'DeleteObjects names 1 to 1000 objects');
  const results: XmlNode[] = [];
  for (const { key, versionId } of targets) {
    try {
      if (inSosapi(key)) throw sosapiReadOnly();
      const asked = parseVersionId(versionId);
      const done = await services.engine.delete(bucket, key, { versioning: info.versioning, ...deleteLockOptions(req, info), ...(asked !== undefined ? { versionId: asked } : {}) });
      if (quiet) continue;
      const answer = deleteAnswer(info, asked, done);
      results.push(['Deleted', [
        ['Key', key],
        ...(asked !== undefined ? [['VersionId', asked] as XmlNode] : []),
        ...(answer.deleteMarker ? [['DeleteMarker', 'true'] as XmlNode, ...(answer.versionId !== undefined ? [['DeleteMarkerVersionId', answer.versionId] as XmlNode] : [])] : []),
      ]]);
    } catch (err) {
      const e = toS3Error(err);
      results.push(['Error', [['Key', key], ['Code', e.code], ['Message', e.message]]]);
    }
  }
  return xmlResponse(200, xmlDocument('DeleteResult', results));
}
