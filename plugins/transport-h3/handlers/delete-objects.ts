import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../request-body.js';
import { decodeXmlText, parseRequestXml, readSmallBody } from '../request-xml.js';
import { S3Error, toS3Error } from '../s3-error.js';
import { xmlDocument, type XmlNode } from '../xml.js';
import { parseVersionId } from '../../../core/engine/object-engine.js';
import { deleteAnswer } from '../versions.js';

/** DeleteObjects: up to 1000 keys, each answered as deleted or with its error; Quiet leaves out the deleted. */
export async function deleteObjects(call: Call): Promise<S3Response> {
  const { req, bucket, services } = call;
  const info = await services.buckets.get(bucket);
  const doc = parseRequestXml(await readSmallBody(requestBody(req, call.auth).body));
  const del = doc.Delete as { Quiet?: string; Object?: { Key?: unknown; VersionId?: unknown }[] } | undefined;
  if (!del || !Array.isArray(del.Object) || del.Object.length === 0 || del.Object.length > 1000) throw new S3Error('MalformedXML');
  const quiet = del.Quiet === 'true';
  const results: XmlNode[] = [];
  for (const o of del.Object) {
    const key = typeof o.Key === 'string' ? decodeXmlText(o.Key) : undefined;
    if (key === undefined) throw new S3Error('MalformedXML', 'Object without Key');
    const versionId = typeof o.VersionId === 'string' ? decodeXmlText(o.VersionId) : undefined;
    try {
      const asked = parseVersionId(versionId);
      const done = await services.engine.delete(bucket, key, { versioning: info.versioning, ...(asked !== undefined ? { versionId: asked } : {}) });
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
